/** Unit tier (Linux /proc): finding this process's commands by executable and marker, and killing a tree. */
import { spawn, type ChildProcess } from "child_process";
import { readFileSync, realpathSync } from "fs";
import { childrenRunning, killTree, processTree } from "./processTree";

const SH = realpathSync("/bin/sh");
const MARKER = `ORCHESTRA_PROCESS_TREE_TEST=${process.pid}`;

/** A shell with a child of its own (`sleep`), the marker in its environment or not. */
function shellWithChild(marked: boolean): ChildProcess {
  const [name, value] = MARKER.split("=");
  return spawn("/bin/sh", ["-c", "sleep 30 & wait"], {
    env: marked ? { ...process.env, [name]: value } : process.env,
    stdio: "ignore",
  });
}

/** Alive: in /proc and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

test("children by executable and environment marker; killTree takes the grandchildren too", async () => {
  const marked = shellWithChild(true);
  const unmarked = shellWithChild(false);
  const markedExit = new Promise((resolve) => marked.once("exit", (_code, signal) => resolve(signal)));
  try {
    let tree: number[] = [];
    for (let tries = 0; tries < 100 && tree.length < 2; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      tree = processTree(marked.pid as number);
    }
    expect(tree).toHaveLength(2);
    expect(childrenRunning(process.pid, SH, MARKER)).toEqual([marked.pid]);
    expect(childrenRunning(process.pid, "/no/such/binary", MARKER)).toEqual([]);
    killTree(marked.pid as number);
    expect(await markedExit).toBe("SIGKILL");
    // The grandchild went too. Its SIGKILL lands with its parent's, but on a loaded machine the
    // kernel may not have torn it down when the parent's exit is seen: give it 2 s.
    for (let tries = 0; tries < 100 && alive(tree[1]); tries++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive(tree[1])).toBe(false);
  } finally {
    killTree(marked.pid as number);
    killTree(unmarked.pid as number);
  }
});
