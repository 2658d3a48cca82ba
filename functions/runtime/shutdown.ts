// Lambda's shutdown phase: with an external extension registered (every deployed
// function has the ADOT collector), Lambda sends the runtime SIGTERM before it
// reclaims an instance, and leaves it about 300 ms before SIGKILL. A request only
// starts its fleet-metrics flush (one write per interval, never awaited), so the
// counts of an instance's last requests would leave with it; this is their flush.

/** What a SIGTERM may spend before the process exits: inside Lambda's 300 ms. */
export const SHUTDOWN_BUDGET_MS = 250;

/** On SIGTERM, runs `work` for at most `budgetMs`, then exits (0: a shutdown Lambda asked for). */
export const onShutdown = (work: () => Promise<void>, budgetMs = SHUTDOWN_BUDGET_MS, exit: (code: number) => void = (code) => process.exit(code)): void => {
  process.once('SIGTERM', () => {
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, budgetMs).unref());
    void Promise.race([work().catch(() => undefined), deadline]).finally(() => exit(0));
  });
};
