import { AZURE_CLOUDS, azureCloud, cloudOfRegistry } from './cloud';

describe('azureCloud', () => {
  it('maps each cloud to its ARM endpoint, storage suffix and ACR token audience', () => {
    expect(
      Object.fromEntries(
        AZURE_CLOUDS.map((c) => [c.name, [c.armEndpoint, c.storageSuffix, c.acrAudience, c.acrSuffix]]),
      ),
    ).toEqual({
      AzureCloud: [
        'https://management.azure.com',
        'core.windows.net',
        'https://containerregistry.azure.net',
        '.azurecr.io',
      ],
      AzureChinaCloud: [
        'https://management.chinacloudapi.cn',
        'core.chinacloudapi.cn',
        'https://management.chinacloudapi.cn',
        '.azurecr.cn',
      ],
      AzureUSGovernment: [
        'https://management.usgovcloudapi.net',
        'core.usgovcloudapi.net',
        'https://management.usgovcloudapi.net',
        '.azurecr.us',
      ],
    });
  });

  it('derives the cloud from the registry hosts: .azurecr.cn is China, .azurecr.us US Government', () => {
    expect(cloudOfRegistry('myreg.azurecr.cn')?.name).toBe('AzureChinaCloud');
    expect(cloudOfRegistry('MyReg.AzureCR.us')?.name).toBe('AzureUSGovernment');
    expect(cloudOfRegistry('myreg.azurecr.io')?.name).toBe('AzureCloud');
    expect(cloudOfRegistry('registry.example.com')).toBeNull();
    expect(azureCloud(undefined, 'a1234.azurecr.cn, b1234.azurecr.cn').name).toBe('AzureChinaCloud');
    expect(azureCloud(undefined, 'registry.example.com').name).toBe('AzureCloud');
    expect(azureCloud(undefined, undefined).name).toBe('AzureCloud');
  });

  it('takes AZURE_CLOUD in any case, and refuses an unknown one or one the registries contradict', () => {
    expect(azureCloud('azureusgovernment').armEndpoint).toBe('https://management.usgovcloudapi.net');
    expect(azureCloud('AzureChinaCloud', 'custom.example.com').storageSuffix).toBe('core.chinacloudapi.cn');
    expect(() => azureCloud('AzureGermanCloud')).toThrow(
      'AZURE_CLOUD "AzureGermanCloud" is not a cloud Tagwarden knows; use one of AzureCloud, AzureChinaCloud, AzureUSGovernment',
    );
    expect(() => azureCloud('AzureCloud', 'myreg1.azurecr.cn')).toThrow(
      'registry myreg1.azurecr.cn is in AzureChinaCloud, but AZURE_CLOUD is AzureCloud; one deployment serves one cloud',
    );
    expect(() => azureCloud(undefined, 'a1234.azurecr.io,b1234.azurecr.us')).toThrow(
      'registry b1234.azurecr.us is in AzureUSGovernment, but another registry is in AzureCloud; one deployment serves one cloud',
    );
  });
});
