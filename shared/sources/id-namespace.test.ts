import fc from 'fast-check';
import { pushEvent } from '../../test/support/events';
import { eventProblems } from '../core';
import { contentId } from './common';
import { idNamespace, namespacedEvent } from './id-namespace';
import { SOURCE_PARSERS } from './index';

describe('event ids namespaced by source (issue 11, item 6)', () => {
  test('each source is its own namespace, except that the ACR webhook and Event Grid share one', () => {
    for (const name of SOURCE_PARSERS.keys())
      expect(idNamespace(name)).toBe(name === 'acr-eventgrid' ? 'acr' : name);
  });

  test('an id gets its namespace once; a content-derived or already namespaced id is kept', () => {
    expect(namespacedEvent('distribution', { id: 'abc' }).id).toBe('distribution:abc');
    expect(namespacedEvent('acr-eventgrid', { id: 'abc' }).id).toBe('acr:abc');
    expect(namespacedEvent('acr', { id: 'abc' }).id).toBe('acr:abc');
    const derived = contentId('harbor', ['x']);
    expect(namespacedEvent('harbor', { id: derived }).id).toBe(derived);
    const once = namespacedEvent('ecr', { id: 'u-1' });
    expect(namespacedEvent('ecr', once)).toEqual(once);
    // Another source's prefix is no namespace of this one.
    expect(namespacedEvent('distribution', { id: 'ecr:u-1' }).id).toBe('distribution:ecr:u-1');
  });

  test('two sources never share a namespaced id, and a namespaced id stays a valid id', () => {
    const sources = [...SOURCE_PARSERS.keys()];
    const id = fc.stringMatching(/^[\x21-\x7e]{1,256}$/);
    fc.assert(
      fc.property(fc.constantFrom(...sources), fc.constantFrom(...sources), id, id, (a, b, x, y) => {
        const [idA, idB] = [namespacedEvent(a, { id: x }).id, namespacedEvent(b, { id: y }).id];
        if (idNamespace(a) !== idNamespace(b)) expect(idA).not.toBe(idB);
        expect(eventProblems(pushEvent({ id: idA }))).toEqual([]);
      }),
    );
  });

  test('an id too long for its namespace is shortened to a hash, still in the namespace', () => {
    const long = 'x'.repeat(256);
    const id = namespacedEvent('distribution', { id: long }).id;
    expect(id).toMatch(/^distribution:~[0-9a-f]{16}$/);
    expect(namespacedEvent('distribution', { id: `${long}y` }).id).not.toBe(id);
  });
});
