import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEvent, AuditSink } from '../kernel/index.js';
import { makeTestEvent } from './audit-test-events.test-support.js';

/** One sink under test, with a reader that does not share the sink's memory. */
export interface SinkUnderTest {
  readonly sink: AuditSink;
  /** Reads back every recorded event from durable storage, through a connection of its own. */
  readBack(): Promise<readonly AuditEvent[]>;
  close(): Promise<void>;
}

/**
 * The `AuditSink` contract, run by every sink implementation: `append` resolves only once the
 * event is durable (an independent reader sees it at that moment), concurrent appends are each
 * recorded exactly once, and the event is stored exactly as given.
 */
export function runAuditSinkConformance(name: string, open: () => Promise<SinkUnderTest>): void {
  describe(`AuditSink conformance: ${name}`, () => {
    test('when append resolves, an independent reader already sees the event', async () => {
      const s = await open();
      try {
        for (let i = 1; i <= 5; i++) {
          const e = makeTestEvent(i);
          await s.sink.append(e);
          const seen = await s.readBack();
          assert.ok(seen.some((x) => x.requestId === e.requestId), `event ${i} not visible after append resolved`);
        }
      } finally {
        await s.close();
      }
    });

    test('concurrent appends are each recorded exactly once, byte for byte', async () => {
      const s = await open();
      try {
        const events = Array.from({ length: 400 }, (_, i) => withoutPrincipalEvery3(makeTestEvent(1000 + i, { userAgent: 'é\u{1F600}'.repeat(i % 5) }), i));
        const clean = events.map((e) => JSON.parse(JSON.stringify(e)) as AuditEvent);
        await Promise.all(events.map((e) => s.sink.append(e)));
        const seen = await s.readBack();
        const ids = seen.map((e) => e.requestId);
        assert.equal(new Set(ids).size, ids.length, 'no event is recorded twice');
        for (const e of clean) assert.deepEqual(seen.find((x) => x.requestId === e.requestId), e);
      } finally {
        await s.close();
      }
    });
  });
}

function withoutPrincipalEvery3(e: AuditEvent, i: number): AuditEvent {
  if (i % 3 !== 0) return e;
  const { principal: _principal, ...rest } = e;
  return rest;
}
