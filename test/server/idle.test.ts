import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { IdleCollector } from '../../server/idle';

test('the idle collector runs one full collection after a quiet spell, none while work goes on, none without new work', async () => {
  const c = new IdleCollector(40);
  for (let i = 0; i < 5; i++) {
    c.touch();
    await sleep(10);
  }
  assert.equal(c.collections, 0, 'work kept coming: no collection yet');
  await sleep(120);
  assert.equal(c.collections, 1);
  await sleep(120);
  assert.equal(c.collections, 1, 'no work since: no second collection');
  c.touch();
  c.dispose();
  await sleep(120);
  assert.equal(c.collections, 1, 'disposed: nothing pending');
});
