/**
 * `npm run emulator -- --port 8787 [--api-key KEY] [flags]`: the local Lambda Cloud API.
 * Prints one line when ready; `--help` lists the flags (infra/emulator/flags.ts). Exit 2 on a bad flag.
 */
import { emulatorHelp, parseEmulatorCommandLine } from "../infra/emulator/flags";
import { startEmulator } from "../infra/emulator/server";

async function main(): Promise<void> {
  const commandLine = parseEmulatorCommandLine(process.argv.slice(2));
  if (commandLine.help) {
    console.log(emulatorHelp());
    return;
  }
  const { options } = commandLine;
  const emulator = await startEmulator(options);
  const limits =
    options.requestIntervalMs === 0 && options.launchIntervalMs === 0
      ? "rate limits off"
      : `rate limits ${options.requestIntervalMs} ms/request, ${options.launchIntervalMs} ms/launch`;
  console.log(
    `Lambda Cloud emulator ready at ${emulator.url} (API key: ${options.apiKey}; ${limits}; boot ${options.bootDelayMs} ms)`,
  );
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
});
