export { splitText } from './entities';
export { classify } from './errors';
export { decodeKeyPart, encodeKeyPart, idPart, tagPartition } from './keys';
export * from './store';
