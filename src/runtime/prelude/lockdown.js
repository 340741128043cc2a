// Remove shared memory and high-resolution timing primitives (Spectre-class side channels) and
// WebAssembly (not part of the function contract).
delete globalThis.SharedArrayBuffer;
delete globalThis.Atomics;
delete globalThis.WebAssembly;
