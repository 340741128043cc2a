export { startPlatform, startInsecureLoopbackHttpPlatform, type StartOptions, type RunningPlatform } from './start-platform.js';
export { createOperatorLogger } from './create-operator-logger.js';
