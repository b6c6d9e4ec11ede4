import { MemoryHistoryStore } from '../../shared/history';
import { describeDriftLog } from '../contract/drift-log.contract';

describeDriftLog('memory', async () => {
  const store = new MemoryHistoryStore();
  return { drift: store.drift, outbox: store, close: () => store.close() };
});
