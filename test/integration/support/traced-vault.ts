import { OtlpReceiver } from './otlp-receiver.js';
import { VaultProcess } from './vault.js';

/** An OTLP receiver and an embedded vault exporting its spans to it, with `env` on top. */
export const startTracedVault = async (env: Record<string, string>): Promise<{ receiver: OtlpReceiver; vault: VaultProcess }> => {
  const receiver = await OtlpReceiver.start();
  const vault = await VaultProcess.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env } });
  return { receiver, vault };
};

/** Stops what `startTracedVault` started, the vault first so its last spans still find the receiver. */
export const stopTracedVault = async (vault: VaultProcess | undefined, receiver: OtlpReceiver | undefined): Promise<void> => {
  await vault?.stop();
  await receiver?.close();
};
