import type { Rule } from '../model.js';
import { apiGatewayRules } from './api-gateway-rules.js';
import { dataRules } from './data-rules.js';
import { iamRules } from './iam-rules.js';
import { lambdaRules } from './lambda-rules.js';
import { palisadeRules } from './palisade-rules.js';
import { highEntropySecret, knownSecretFormat } from './secret-rules.js';

/** Every built-in rule, in the order docs/scan.md lists them. */
export const builtinRules: readonly Rule[] = [
  ...lambdaRules,
  ...apiGatewayRules,
  ...iamRules,
  ...dataRules,
  knownSecretFormat,
  highEntropySecret,
  ...palisadeRules,
];
