import { REFRESH_API_VERSION, refreshCommand, refreshPath } from './key-vault-refresh';

const app = {
  subscription: '00000000-1111-2222-3333-444444444444',
  resourceGroup: 'rg-app',
  name: 'tagwarden-ab12cd34',
};

describe('Key Vault reference refresh', () => {
  it('posts to the documented path and api-version', () => {
    expect(REFRESH_API_VERSION).toBe('2022-03-01');
    expect(refreshPath(app)).toBe(
      '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-app/providers/Microsoft.Web/sites/tagwarden-ab12cd34/config/configreferences/appsettings/refresh?api-version=2022-03-01',
    );
  });

  it('gives the exact az rest command, in the cloud of the ARM endpoint', () => {
    expect(refreshCommand(app)).toBe(
      `az rest --method post --url "https://management.azure.com${refreshPath(app)}"`,
    );
    expect(refreshCommand(app, 'https://management.chinacloudapi.cn')).toBe(
      `az rest --method post --url "https://management.chinacloudapi.cn${refreshPath(app)}"`,
    );
  });
});
