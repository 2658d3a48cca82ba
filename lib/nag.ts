import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/** cdk-nag's finding for a wildcard in an IAM policy, one per action or resource pattern. */
export const WILDCARD_PERMISSION_RULE = 'AwsSolutions-IAM5';

/**
 * Acknowledges cdk-nag's IAM5 finding for exactly these wildcard resources in the
 * policies under `scope`, and for no other wildcard there.
 *
 * cdk-nag names the finding after the resource as the synthesized template spells
 * it. A reference to another stack takes that form only once the app is prepared
 * for synthesis, which is after every constructor has run; construct validation
 * runs after that preparation and before the validation plugins, so the
 * acknowledgement is recorded from there.
 */
export const acknowledgeWildcardResources = (scope: IConstruct, resources: readonly string[], reason: string): void => {
  scope.node.addValidation({
    validate: () => {
      const stack = Stack.of(scope);
      Validations.of(scope).acknowledge(
        ...resources.map((resource) => ({ id: `${WILDCARD_PERMISSION_RULE}[Resource::${flattenCfnReference(stack.resolve(resource))}]`, reason })),
      );
      return [];
    },
  });
};
