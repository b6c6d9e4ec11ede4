import { MemoryHistoryStore } from '../../shared/history';
import { describeHistoryStore } from '../contract/history-store.contract';

describeHistoryStore('memory', async () => new MemoryHistoryStore(), { outboxDepth: true });
