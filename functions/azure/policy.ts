import { policyFromJson } from '../../shared/config/policy-schema';
import type { Policy } from '../../shared/core';

/** The policy the Function runs: app setting POLICY, JSON converted from the YAML file at deployment. */
export function azurePolicy(text: string | undefined): Policy {
  return policyFromJson(text, 'convert the YAML policy file to JSON (see "Deploy on Azure")');
}
