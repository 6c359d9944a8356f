/**
 * Run a `medcode` command line as a child process (Node only, no VS Code; unit-tested with
 * Node itself as the child). Never through a shell: paths and codes are passed as arguments.
 */

import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import type { Invocation } from "./serverCommand";

export interface RunResult {
  /** Exit status; null when the process was killed or could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  error?: Error;
  cancelled: boolean;
  timedOut: boolean;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each complete line the command writes to stderr (medcode's progress). */
  onStderrLine?: (line: string) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export function runCommand(invocation: Invocation, options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const result: RunResult = { code: null, stdout: "", stderr: "", cancelled: false, timedOut: false };
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (!settled) {
        settled = true;
        if (timer !== undefined) {
          clearTimeout(timer);
        }
        options.signal?.removeEventListener("abort", onAbort);
        resolve(result);
      }
    };
    const child = (() => {
      try {
        return spawn(invocation.command, invocation.args, {
          env: options.env,
          cwd: options.cwd,
          stdio: ["ignore", "pipe", "pipe"],
          windowsHide: true,
        });
      } catch (error) {
        result.error = error instanceof Error ? error : new Error(String(error));
        return undefined;
      }
    })();
    function onAbort(): void {
      result.cancelled = true;
      child?.kill();
    }
    if (child === undefined) {
      finish();
      return;
    }
    if (options.signal?.aborted) {
      onAbort();
    } else {
      options.signal?.addEventListener("abort", onAbort);
    }
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        result.timedOut = true;
        child.kill();
      }, options.timeoutMs);
    }
    const out = new StringDecoder("utf8");
    const err = new StringDecoder("utf8");
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      result.stdout += out.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const text = err.write(chunk);
      result.stderr += text;
      partial += text;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        options.onStderrLine?.(line);
      }
    });
    child.on("error", (error) => {
      result.error = error;
      finish();
    });
    child.on("close", (code) => {
      result.stdout += out.end();
      const tail = err.end();
      result.stderr += tail;
      const rest = partial + tail;
      if (rest) {
        options.onStderrLine?.(rest);
      }
      result.code = code;
      finish();
    });
  });
}

/** One line on why a run failed, for an error message. */
export function failureReason(result: RunResult): string {
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "the program was not found" : result.error.message;
  }
  if (result.timedOut) {
    return "it did not finish in time";
  }
  if (result.cancelled) {
    return "cancelled";
  }
  const lastLine = result.stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .pop();
  return lastLine ?? `it exited with status ${String(result.code)}`;
}
