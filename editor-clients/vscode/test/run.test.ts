import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { failureReason, runCommand } from "../src/run";

// The child is Node itself, so these run wherever the tests run.
const node = (script: string): { command: string; args: string[] } => ({ command: process.execPath, args: ["-e", script] });

describe("runCommand", () => {
  test("collects stdout, stderr lines and the exit status", async () => {
    const lines: string[] = [];
    const result = await runCommand(node("process.stderr.write('one\\ntwo\\nthree'); process.stdout.write('{\"ok\": true}'); process.exit(1)"), {
      onStderrLine: (line) => lines.push(line),
    });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '{"ok": true}');
    assert.deepEqual(lines, ["one", "two", "three"]);
    assert.equal(failureReason(result), "three");
  });

  test("arguments are passed as they are, never through a shell", async () => {
    const tricky = "a b; echo $HOME `x` 'q' \"d\"";
    const result = await runCommand({ command: process.execPath, args: ["-e", "process.stdout.write(process.argv[1])", tricky] });
    assert.equal(result.stdout, tricky);
  });

  test("passes the environment", async () => {
    const result = await runCommand(node("process.stdout.write(process.env.MEDCODE_INDEX_DIR)"), {
      env: { ...process.env, MEDCODE_INDEX_DIR: "/tmp/idx" },
    });
    assert.equal(result.stdout, "/tmp/idx");
  });

  test("a missing program is an error, not an exception", async () => {
    const result = await runCommand({ command: "/definitely/not/medcode", args: ["--version"] });
    assert.equal(result.code, null);
    assert.ok(result.error);
    assert.equal(failureReason(result), "the program was not found");
  });

  test("cancellation kills the child", async () => {
    const controller = new AbortController();
    const running = runCommand(node("setTimeout(() => {}, 60000)"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const result = await running;
    assert.equal(result.cancelled, true);
    assert.notEqual(result.code, 0);
  });

  test("a timeout kills the child", async () => {
    const result = await runCommand(node("setTimeout(() => {}, 60000)"), { timeoutMs: 100 });
    assert.equal(result.timedOut, true);
    assert.equal(failureReason(result), "it did not finish in time");
  });

  test("UTF-8 split across chunks is decoded whole", async () => {
    const result = await runCommand(
      node("const b = Buffer.from('é — ✓'); process.stdout.write(b.subarray(0, 1)); setTimeout(() => process.stdout.write(b.subarray(1)), 50)"),
    );
    assert.equal(result.stdout, "é — ✓");
  });
});
