/**
 * The readiness script a node runs over SSH before anything is deployed on it. Pure: returns the
 * script text. It names the node and what was missing when it fails; it holds no secret.
 */

/** Seconds to wait for the Docker daemon (Lambda Stack starts it late in boot). */
export const DOCKER_WAIT_SECONDS = 300;

export function readinessScript(nodeName: string, isGpu: boolean): string {
  const lines = [
    "set -eu",
    `node=${JSON.stringify(nodeName)}`,
    // Docker is on Lambda's default image; it may still be starting when sshd answers.
    `for i in $(seq 1 ${DOCKER_WAIT_SECONDS}); do docker info >/dev/null 2>&1 && break; sleep 1; done`,
    `docker info >/dev/null 2>&1 || { echo "node $node: the Docker daemon did not answer within ${DOCKER_WAIT_SECONDS} s (docker info failed)" >&2; exit 1; }`,
  ];
  if (isGpu) {
    // "active" does not mean usable: instances have been seen active with no working driver.
    lines.push(
      `nvidia-smi -L >/dev/null 2>&1 || { echo "node $node: nvidia-smi failed: no working GPU driver" >&2; exit 1; }`,
    );
  }
  lines.push(`echo "node $node ready: ssh, docker${isGpu ? ", nvidia-smi" : ""}"`);
  return lines.join("\n");
}
