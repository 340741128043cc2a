export { openVault, type Vault, type OpenedVault, type OpenVaultOptions, type VaultAdmin, type KeyAdmin, type KekStatus, type VaultSealedBox, type SecretValue, type SecretMetadata, type SecretVersionView, type KvNamespace, type KvListResult } from './open-vault.js';
export { createLocalKeyProvider, localKekId, type KeyProvider, type LocalKeyProvider } from './key-provider.js';
export { loadKeyRing, keyRingLocation, MASTER_KEY_ENV, KEY_RING_FILE, type KeyRing, type LoadKeyRingOptions } from './key-ring.js';
export { SECRET_NAME, MAX_SECRET_BYTES, MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, assertSecretName } from './secret-names.js';
export { runRotation, rotationSteps, parseCreateResponse, MAX_ROTATED_VALUE_BYTES, type RotationPorts, type RotationOutcome, type RotationReason, type RotationRequestBody, type RotationStep } from './run-rotation.js';
export { startRotationScheduler, ROTATION_LEASE_MS, type RotationSchedule, type RotationScheduler, type RotationSchedulerDeps } from './rotation-scheduler.js';
