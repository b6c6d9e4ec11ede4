/** The effect outbox: the runner and one executor per kind live in `./outbox`; re-exported here. */
export { buildAlert, localRetryHint } from './outbox/alert';
export {
  decodeOutcome,
  type EffectOutcome,
  encodeOutcome,
  outcomeText,
  renderOutcome,
} from './outbox/outcome';
export { keepTagFor } from './outbox/revert';
export { EffectRunner, type EffectRunnerOptions, type OutboxStore, type StopReport } from './outbox/runner';
