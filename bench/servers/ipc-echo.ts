// Reference for the gateway-worker channel: a forked process that echoes each IPC message.
process.on('message', (message: unknown) => {
  process.send?.(message);
});
process.on('disconnect', () => process.exit(0));
