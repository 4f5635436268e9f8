// An AG-UI client for the example app: the real HttpAgent from @ag-ui/client.
//
//   node agui-client.mjs http://127.0.0.1:8000/api/agui '{"count": 3}' [cancelAfterStates]
//
// Prints JSON lines as the run goes: {"event": TYPE} per AG-UI event, {"state": ...} per
// state the agent rebuilt (STATE_SNAPSHOT + STATE_DELTA), then one {"done": {...}} with the
// run's result, the agent's final state, the echoed ids and any RUN_ERROR. With
// cancelAfterStates the run is aborted (abortRun) once that many states were seen.
import { HttpAgent } from "@ag-ui/client";

const [url, props = "{}", cancelAfter] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const agent = new HttpAgent({ url, threadId: "thread-from-node" });
const done = { result: null, runError: null, error: null, ids: {} };
let states = 0;
agent.subscribe({
  onEvent({ event }) {
    print({ event: event.type });
    if (event.type === "RUN_STARTED" || event.type === "RUN_FINISHED") {
      done.ids[event.type] = { threadId: event.threadId, runId: event.runId };
    }
  },
  onStateChanged({ state }) {
    print({ state });
    states += 1;
    if (cancelAfter && states >= Number(cancelAfter)) agent.abortRun();
  },
  onRunErrorEvent({ event }) {
    done.runError = { ...event };
  },
});
try {
  const { result } = await agent.runAgent({ runId: "run-from-node", forwardedProps: JSON.parse(props) });
  done.result = result ?? null;
} catch (err) {
  done.error = String(err && err.message ? err.message : err);
}
done.finalState = agent.state;
print({ done });
