export { type RecordedHistory, readRecordedHistory } from './rows';
export * from './store';
