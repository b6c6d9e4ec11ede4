import { AZURE_POLICY_HOW_TO, policyFromJson } from '../../shared/config/policy-schema';
import type { Policy } from '../../shared/core';

/** The policy the Function runs: app setting POLICY, JSON converted from the YAML file at deployment. */
export function azurePolicy(text: string | undefined): Policy {
  return policyFromJson(text, AZURE_POLICY_HOW_TO);
}
