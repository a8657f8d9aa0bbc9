#!/usr/bin/env python3
"""Generate src/services/generated.rs from botocore's Bedrock service models.

Run it with the python of labcheck's provisioned venv (pinned botocore):

    ~/.cache/labcheck/clients/venv-*/venv/bin/python tools/gen_operations.py > src/services/generated.rs

For every operation of `bedrock-runtime`, `bedrock`, `bedrock-agent` and
`bedrock-agent-runtime` it writes one row: HTTP method, request URI template
(path with `{label}` / `{label+}`, and any literal query part), the members
bound to URI labels, query-string parameters and headers (member name ->
location name), the JSON body members, the members carrying an idempotency
token, the output event stream (event names, their blob members, the
exception events with their HTTP status) and the modeled errors (name, HTTP
status). The output is deterministic: services in a fixed order, operations
and members sorted by name.

Excluded (and listed in the generated `EXCLUDED` table):
- bedrock-runtime `InvokeModelWithBidirectionalStream`: HTTP/2 bidirectional
  streaming; no python client can call it.
Other services in botocore (AgentCore, Data Automation) are not generated.
"""

import sys

import botocore
import botocore.session

SERVICES = [
    ("bedrock-runtime", "BedrockRuntime"),
    ("bedrock", "Bedrock"),
    ("bedrock-agent", "BedrockAgent"),
    ("bedrock-agent-runtime", "BedrockAgentRuntime"),
]

EXCLUDED = {
    ("bedrock-runtime", "InvokeModelWithBidirectionalStream"): (
        "HTTP/2 bidirectional event stream; no python client can call it"
    ),
}


def rs(s):
    """A Rust string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pairs(items):
    return "&[" + ", ".join(f"({rs(a)}, {rs(b)})" for a, b in items) + "]"


def names(items):
    return "&[" + ", ".join(rs(a) for a in items) + "]"


def errors(shapes):
    """`shapes` are shapes (modeled errors) or (member name, shape) pairs
    (event-stream exceptions, named on the wire by their member name)."""
    rows = sorted(
        (s[0], s[1].metadata.get("error", {}).get("httpStatusCode", 400))
        if isinstance(s, tuple)
        else (s.name, s.metadata.get("error", {}).get("httpStatusCode", 400))
        for s in shapes
    )
    return "&[" + ", ".join(
        f"ErrorDef {{ name: {rs(n)}, status: {c} }}" for n, c in rows
    ) + "]"


def operation_row(service_variant, op):
    http = op.http
    uri = http["requestUri"]
    path, _, query_literal = uri.partition("?")
    labels, query, headers, body, idem = [], [], [], [], []
    shape = op.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if shape is not None:
        for name, member in shape.members.items():
            loc = member.serialization.get("location")
            loc_name = member.serialization.get("name", name)
            if loc == "uri":
                labels.append((name, loc_name))
            elif loc == "querystring":
                query.append((name, loc_name))
            elif loc in ("header", "headers"):
                headers.append((name, loc_name))
            elif payload is None or payload == name:
                body.append(name)
            if member.metadata.get("idempotencyToken"):
                idem.append(loc_name if loc else name)
    stream = "None"
    if op.has_event_stream_output:
        es = op.get_event_stream_output()
        events, exceptions = [], []
        for ev_name, ev in sorted(es.members.items()):
            if ev.metadata.get("exception"):
                exceptions.append((ev_name, ev))
                continue
            blobs = sorted(
                m for m, s in ev.members.items() if s.type_name == "blob"
            )
            heads = sorted(
                m for m, s in ev.members.items() if s.serialization.get("eventheader")
            )
            assert not heads, f"event headers are not supported: {op.name} {ev_name}"
            events.append(f"EventDef {{ name: {rs(ev_name)}, blobs: {names(blobs)} }}")
        member = op.output_shape.serialization.get("payload")
        stream = (
            f"Some(&StreamDef {{ member: {rs(member)}, events: &[{', '.join(events)}], "
            f"exceptions: {errors(exceptions)} }})"
        )
    return (
        "    OperationDef {\n"
        f"        service: Service::{service_variant},\n"
        f"        name: {rs(op.name)},\n"
        f"        method: {rs(http['method'])},\n"
        f"        uri: {rs(path)},\n"
        f"        query_literal: {rs(query_literal)},\n"
        f"        labels: {pairs(sorted(labels))},\n"
        f"        query: {pairs(sorted(query))},\n"
        f"        headers: {pairs(sorted(headers))},\n"
        f"        body: {names(sorted(body))},\n"
        f"        idempotency_tokens: {names(sorted(idem))},\n"
        f"        stream: {stream},\n"
        f"        errors: {errors(op.error_shapes)},\n"
        "    },\n"
    )


def main():
    session = botocore.session.get_session()
    rows, consts, excluded = [], [], []
    ops = []
    for service, variant in SERVICES:
        model = session.get_service_model(service)
        assert model.metadata["protocol"] == "rest-json", service
        assert model.metadata["signingName"] == "bedrock", service
        for name in sorted(model.operation_names):
            if (service, name) in EXCLUDED:
                excluded.append((variant, name, EXCLUDED[(service, name)]))
                continue
            ops.append((service, variant, model.operation_model(name)))
    counts = {}
    for _, _, op in ops:
        counts[op.name] = counts.get(op.name, 0) + 1
    for i, (service, variant, op) in enumerate(ops):
        rows.append(operation_row(variant, op))
        const = op.name if counts[op.name] == 1 else variant + op.name
        consts.append(
            f"    /// `{service}` `{op.name}`.\n"
            f"    pub const {const}: Operation = Operation({i});\n"
        )
    out = sys.stdout
    out.write(
        "// @generated by tools/gen_operations.py from botocore "
        f"{botocore.__version__} (service models: "
        + ", ".join(
            f"{s} {session.get_service_model(s).api_version}" for s, _ in SERVICES
        )
        + "). Do not edit by hand: re-run the generator.\n\n"
    )
    out.write("use super::{ErrorDef, EventDef, Operation, OperationDef, Service, StreamDef};\n\n")
    out.write(f"/// The botocore version the table was generated from.\n")
    out.write(f"pub const BOTOCORE_VERSION: &str = {rs(botocore.__version__)};\n\n")
    out.write(
        "/// Operations of the four services' models that are not in the table, with why.\n"
    )
    out.write("pub const EXCLUDED: &[(Service, &str, &str)] = &[\n")
    for variant, name, why in excluded:
        out.write(f"    (Service::{variant}, {rs(name)}, {rs(why)}),\n")
    out.write("];\n\n")
    out.write(
        "/// Every operation, services in order (runtime, control plane, agent, agent\n"
        "/// runtime), then by name.\n"
    )
    out.write("pub static OPERATIONS: &[OperationDef] = &[\n")
    out.write("".join(rows))
    out.write("];\n\n")
    out.write(
        "/// One constant per operation, named as AWS names it; a name several\n"
        "/// services share is prefixed with its service (`BedrockAgentTagResource`).\n"
    )
    out.write("#[allow(non_upper_case_globals)]\nimpl Operation {\n")
    out.write("".join(consts))
    out.write("}\n")


if __name__ == "__main__":
    main()
