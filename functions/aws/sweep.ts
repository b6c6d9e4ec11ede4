// Lambda entry point (issue 4): being built. Deploying this stub fails loudly instead of dropping events.
export const handler = async (): Promise<never> => {
  throw new Error('functions/aws/sweep is not implemented yet');
};
