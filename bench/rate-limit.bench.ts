export const runRateLimitSimulation = async (): Promise<Record<string, number>> => ({});
