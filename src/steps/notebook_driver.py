"""labcheck's notebook driver: runs a notebook step's cells in one Jupyter
kernel through nbclient and reports each cell as one JSON line on stdout.

Run by labcheck (src/steps/notebook.rs) inside the trial's sandbox with the
kernel venv's python:  python3 notebook_driver.py PLAN.json

PLAN.json: {"cells": [{"number": 3, "source": "..."}], "cell_timeout": 30.0,
            "app_id": "labcheck-kernel", "python_path": null}

Every line this prints starts with PREFIX. The kernel's own stdout goes to
/dev/null (ipykernel forwards what cells print, even at the fd level, over
iopub), so nothing a cell does can forge a line. Events:
  {"event": "kernel", "started": t0, "ready": t1}
  {"event": "cell", "number": n, "status": "ok"|"error"|"timeout",
   "started": t, "ended": t, "outputs": [nbformat outputs],
   "messages": [{"type": "stream", "name": "stdout", "at": t, "bytes": k}]}
Times are epoch seconds; message times are the kernel's iopub header dates.
The run stops at the first cell that raises or passes its time limit; the
kernel is then shut down at once (killed).
"""

import json
import os
import subprocess
import sys
import time

PREFIX = "labcheck-nb "


def emit(event):
    sys.stdout.write(PREFIX + json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        plan = json.load(f)

    # The kernel inherits this: its AWS SDK says `app/<id>` in every
    # User-Agent, so labcheck can prove a request came from the kernel.
    os.environ["AWS_SDK_UA_APP_ID"] = plan["app_id"]
    # The lab's extra packages (`[lab] python`), for the kernel only.
    if plan.get("python_path"):
        os.environ["PYTHONPATH"] = plan["python_path"]
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class Recorder(NotebookClient):
        """Keeps each iopub message's type and kernel timestamp."""

        messages = []

        def process_message(self, msg, cell, cell_index):
            date = msg.get("header", {}).get("date")
            at = date.timestamp() if hasattr(date, "timestamp") else time.time()
            content = msg.get("content", {})
            kind = msg.get("msg_type")
            if kind in ("stream", "display_data", "execute_result", "error"):
                size = len(content.get("text", "")) if kind == "stream" else 1
                self.messages.append(
                    {"type": kind, "name": content.get("name"), "at": at, "bytes": size}
                )
            return super().process_message(msg, cell, cell_index)

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c["source"]) for c in plan["cells"]]
    client = Recorder(
        nb,
        timeout=plan["cell_timeout"],
        kernel_name="python3",
        allow_errors=True,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": "."}},
    )
    started = time.time()
    with client.setup_kernel(stdout=subprocess.DEVNULL):
        emit({"event": "kernel", "started": started, "ready": time.time()})
        for index, (cell, spec) in enumerate(zip(nb.cells, plan["cells"])):
            client.messages = []
            began = time.time()
            status = "ok"
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                status = "timeout"
            except DeadKernelError:
                status = "dead"
            if status == "ok" and any(o.get("output_type") == "error" for o in cell.outputs):
                status = "error"
            emit(
                {
                    "event": "cell",
                    "number": spec["number"],
                    "status": status,
                    "started": began,
                    "ended": time.time(),
                    "outputs": cell.outputs,
                    "messages": client.messages,
                }
            )
            if status != "ok":
                break


if __name__ == "__main__":
    main()
