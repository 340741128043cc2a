import { createHash, hash } from 'node:crypto';

/** The version tag of the chain format, part of the genesis input. */
export const CHAIN_FORMAT = 'palisade-audit/1';

/**
 * The `prev_hash` of the first event of an instance's chain:
 * `SHA-256(UTF-8("palisade-audit/1 genesis " ‖ instanceId))`. Binding the instance id into the
 * chain's root makes another instance's (valid) log fail verification from its first row.
 */
export function computeGenesisHash(instanceId: string): Buffer {
  return createHash('sha256').update(`${CHAIN_FORMAT} genesis ${instanceId}`, 'utf8').digest();
}

/** `hash = SHA-256(prev_hash ‖ UTF-8(canonical event))`; the event as text or as its UTF-8 bytes. */
export function computeEventHash(prevHash: Uint8Array, canonicalEvent: string | Uint8Array): Buffer {
  if (typeof canonicalEvent === 'string') return createHash('sha256').update(prevHash).update(canonicalEvent, 'utf8').digest();
  // Bytes as stored: one copy into a scratch buffer and a one-shot hash (the verifier's hot path).
  const need = prevHash.length + canonicalEvent.length;
  if (scratch.length < need) scratch = Buffer.alloc(Math.max(need, scratch.length * 2));
  scratch.set(prevHash, 0);
  scratch.set(canonicalEvent, prevHash.length);
  return hash('sha256', scratch.subarray(0, need), 'buffer');
}

let scratch = Buffer.alloc(4096);
