/**
 * Pure tier: the tag keys are a contract with every instance already running. The reaper finds a
 * stack's instances and their deadlines by these exact keys; renaming one would leave them unreaped.
 */
import { EXPIRES_AT_TAG, STACK_TAG } from "./instanceTags";

test("the stack and expiry tags keep the keys running instances carry", () => {
  expect(STACK_TAG).toBe("orchestra-stack");
  expect(EXPIRES_AT_TAG).toBe("orchestra-expires-at");
});
