/** A command as the fake saw it: its class name and input. */
export interface SentCommand {
  readonly name: string;
  readonly input: Record<string, unknown>;
}

/**
 * Stands in for an AWS SDK client at the `send` boundary (STYLE: mock only the
 * client): records every command and answers from the test's script.
 */
export const fakeAwsClient = <C>(respond: (command: SentCommand) => unknown): { sent: SentCommand[]; client: C } => {
  const sent: SentCommand[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const recorded = { name: command.constructor.name, input: command.input };
      sent.push(recorded);
      return respond(recorded);
    },
  };
  return { sent, client: client as unknown as C };
};
