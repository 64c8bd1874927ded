"""A tiny BPMN writer with automatic, lane-aware layout (BPMN DI).

Process owners normally edit the diagrams in bpmn-js. This module exists so that the first
version of every stage could be written as reviewable Python (``placement_models.py``) and
come out with a readable diagram: lanes are horizontal bands, flow runs left to right,
gateways and flows are labelled, back-loops run underneath the row they leave.

Positions are given on a grid: ``col`` (left to right) and ``row`` inside a lane.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

COL_W = 150
ROW_H = 140
POOL_X = 100
LANE_X = 130          # pool header is 30 px wide
FIRST_CX = 220        # centre x of column 0

SIZES = {
    "task": (100, 80),
    "event": (36, 36),
    "gateway": (50, 50),
}

KIND_TAG = {
    "start": ("bpmn:startEvent", "event"),
    "end": ("bpmn:endEvent", "event"),
    "user": ("bpmn:userTask", "task"),
    "script": ("bpmn:scriptTask", "task"),
    "service": ("bpmn:serviceTask", "task"),
    "rule": ("bpmn:businessRuleTask", "task"),
    "call": ("bpmn:callActivity", "task"),
    "xor": ("bpmn:exclusiveGateway", "gateway"),
    "and": ("bpmn:parallelGateway", "gateway"),
    "or": ("bpmn:inclusiveGateway", "gateway"),
    "timer": ("bpmn:intermediateCatchEvent", "event"),
    "msgcatch": ("bpmn:intermediateCatchEvent", "event"),
    "boundary": ("bpmn:boundaryEvent", "event"),
}


def q(s: str) -> str:
    return quoteattr(s)


@dataclass
class Node:
    id: str
    kind: str
    name: str
    lane: str
    col: float
    row: float = 0
    attrs: dict = field(default_factory=dict)
    parent: str | None = None    # id of an event subprocess holding this node
    # geometry, filled by layout
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    @property
    def cx(self):
        return self.x + self.w / 2

    @property
    def cy(self):
        return self.y + self.h / 2


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    via: list | None = None       # explicit waypoints [(x, y), ...] in pixels (optional)
    parent: str | None = None


class Process:
    def __init__(self, pid: str, name: str, lanes: list[str], doc: str = "", lane_rows: dict | None = None):
        self.id = pid
        self.name = name
        self.lanes = lanes
        self.doc = doc
        self.lane_rows = lane_rows or {}
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.messages: dict[str, str] = {}     # message name -> message id
        self.subprocs: dict[str, dict] = {}    # event subprocesses: id -> {name, lane}
        self.defaults: dict[str, str] = {}     # gateway id -> default flow id

    # ---- elements -------------------------------------------------------------------------
    def add(self, kind, id, name, lane, col, row=0, parent=None, **attrs):
        if id in self.nodes:
            raise ValueError(f"duplicate id {id}")
        n = Node(id, kind, name, lane, col, row, attrs, parent)
        self.nodes[id] = n
        return n

    def start(self, id, name, lane, col, row=0, **kw):
        return self.add("start", id, name, lane, col, row, **kw)

    def end(self, id, name, lane, col, row=0, terminate=False, **kw):
        return self.add("end", id, name, lane, col, row, terminate=terminate, **kw)

    def message_catch(self, id, name, lane, col, row=0, *, message, variable=None, parent=None):
        self.messages.setdefault(message, f"msg_{message}")
        return self.add("msgcatch", id, name, lane, col, row, parent=parent, message=message,
                        variable=variable)

    def user(self, id, name, lane, col, row=0, *, title, form, due_days=None, due_school_days=None,
             due_on=None, instructions=None, parent=None):
        props = {"title": title, "form": form}
        if due_days is not None:
            props["due_days"] = str(due_days)
        if due_school_days is not None:
            props["due_school_days"] = str(due_school_days)
        if due_on is not None:
            props["due_on"] = due_on
        return self.add("user", id, name, lane, col, row, parent=parent, properties=props,
                        instructions=instructions)

    def script(self, id, name, lane, col, row=0, *, script, parent=None):
        return self.add("script", id, name, lane, col, row, parent=parent, script=script.strip())

    def notify(self, id, name, lane, col, row=0, *, role, subject, body, parent=None):
        return self.add("service", id, name, lane, col, row, parent=parent,
                        operator="notify", params={"role": repr(role), "subject": subject, "body": body})

    def rule(self, id, name, lane, col, row=0, *, decision):
        return self.add("rule", id, name, lane, col, row, decision=decision)

    def call(self, id, name, lane, col, row=0, *, called):
        return self.add("call", id, name, lane, col, row, called=called)

    def gateway(self, kind, id, name, lane, col, row=0, parent=None):
        return self.add(kind, id, name, lane, col, row, parent=parent)

    def timer(self, id, name, lane, col, row=0, *, date_expr, parent=None):
        return self.add("timer", id, name, lane, col, row, parent=parent, time_date=date_expr)

    def boundary_timer(self, id, name, attached, *, date_expr, interrupting=False, offset=0, side="bottom"):
        host = self.nodes[attached]
        return self.add("boundary", id, name, host.lane, host.col, host.row, parent=host.parent,
                        attached=attached, time_date=date_expr, interrupting=interrupting, offset=offset,
                        side=side)

    def boundary_message(self, id, name, attached, *, message, interrupting=True, offset=0, variable=None):
        host = self.nodes[attached]
        self.messages.setdefault(message, f"msg_{message}")
        return self.add("boundary", id, name, host.lane, host.col, host.row, parent=host.parent,
                        attached=attached, message=message, interrupting=interrupting, offset=offset,
                        variable=variable)

    def message_start(self, id, name, lane, col, row=0, *, message, variable=None, parent=None,
                      interrupting=False):
        self.messages.setdefault(message, f"msg_{message}")
        return self.add("start", id, name, lane, col, row, parent=parent, message=message,
                        variable=variable, interrupting=interrupting)

    def event_subprocess(self, id, name, lane):
        self.subprocs[id] = {"name": name, "lane": lane}

    def flow(self, source, target, name=None, condition=None, id=None, default=False, via=None):
        fid = id or f"flow_{source}_{target}"
        parent = self.nodes[source].parent
        f = Flow(fid, source, target, name, condition, via, parent)
        self.flows.append(f)
        if default:
            self.defaults[source] = fid
        return f

    # ---- layout ---------------------------------------------------------------------------
    def layout(self):
        rows = {lane: 1 for lane in self.lanes}
        for n in self.nodes.values():
            rows[n.lane] = max(rows[n.lane], int(n.row + 0.999) + 1)
        for lane, r in self.lane_rows.items():
            rows[lane] = max(rows[lane], r)
        self.lane_geo = {}
        y = 80
        for lane in self.lanes:
            h = rows[lane] * ROW_H
            self.lane_geo[lane] = (y, h)
            y += h
        max_col = max(n.col for n in self.nodes.values())
        self.width = (FIRST_CX - LANE_X) + max_col * COL_W + 130
        self.height = y - 80
        for n in self.nodes.values():
            if n.kind == "boundary":
                continue
            w, h = SIZES[KIND_TAG[n.kind][1]]
            lane_y, _ = self.lane_geo[n.lane]
            cx = FIRST_CX + n.col * COL_W
            cy = lane_y + ROW_H / 2 + n.row * ROW_H
            n.x, n.y, n.w, n.h = cx - w / 2, cy - h / 2, w, h
        for n in self.nodes.values():
            if n.kind == "boundary":
                host = self.nodes[n.attrs["attached"]]
                n.w = n.h = 36
                n.x = host.cx - 18 + n.attrs.get("offset", 0)
                n.y = host.y - 18 if n.attrs.get("side") == "top" else host.y + host.h - 18
        self._back_index = {}
        self.sub_geo = {}
        for sid, sp in self.subprocs.items():
            kids = [n for n in self.nodes.values() if n.parent == sid]
            x0 = min(n.x for n in kids) - 40
            y0 = min(n.y for n in kids) - 40
            x1 = max(n.x + n.w for n in kids) + 40
            y1 = max(n.y + n.h for n in kids) + 30
            self.sub_geo[sid] = (x0, y0, x1 - x0, y1 - y0)

    def waypoints(self, f: Flow):
        s, t = self.nodes[f.source], self.nodes[f.target]
        if f.via:
            via = [self.grid(*v) for v in f.via]
            return [self._exit(s, via[0]), *via, self._entry(t, via[-1])]
        if s.kind == "boundary":
            if s.attrs.get("side") == "top":
                return [(s.cx, s.y), (s.cx, t.cy), (t.x, t.cy)]
            return [(s.cx, s.y + s.h), (s.cx, t.cy), (t.x, t.cy)]
        if t.cx > s.cx + 1:
            if abs(t.cy - s.cy) < 1:
                return [(s.x + s.w, s.cy), (t.x, t.cy)]
            if s.kind in ("xor", "and", "or"):
                sy = s.y + s.h if t.cy > s.cy else s.y
                return [(s.cx, sy), (s.cx, t.cy), (t.x, t.cy)]
            if t.kind in ("xor", "and", "or"):
                ty = t.y if t.cy > s.cy else t.y + t.h
                return [(s.x + s.w, s.cy), (t.cx, s.cy), (t.cx, ty)]
            mx = (s.x + s.w + t.x) / 2
            return [(s.x + s.w, s.cy), (mx, s.cy), (mx, t.cy), (t.x, t.cy)]
        # backwards: run along the bottom of the lane of the lower shape, then up into the target
        low = s if s.y + s.h >= t.y + t.h else t
        if low.parent is not None:
            _, sy, _, sh = self.sub_geo[low.parent]
            bottom = sy + sh
        else:
            ly, lh = self.lane_geo[low.lane]
            bottom = ly + lh
        if f.id not in self._back_index:
            k = sum(1 for v in self._back_index.values() if v[0] == bottom)
            self._back_index[f.id] = (bottom, k)
        chan = bottom - 12 - 10 * self._back_index[f.id][1]
        return [(s.cx, s.y + s.h), (s.cx, chan), (t.cx, chan), (t.cx, t.y + t.h)]

    def grid(self, col, lane, row):
        lane_y, _ = self.lane_geo[lane]
        return (FIRST_CX + col * COL_W, lane_y + ROW_H / 2 + row * ROW_H)

    @staticmethod
    def _exit(s, p):
        x, y = p
        if abs(x - s.cx) < 1:
            return (s.cx, s.y + s.h if y > s.cy else s.y)
        return (s.x + s.w if x > s.cx else s.x, s.cy)

    @staticmethod
    def _entry(t, p):
        x, y = p
        if abs(x - t.cx) < 1:
            return (t.cx, t.y + t.h if y > t.cy else t.y)
        return (t.x + t.w if x > t.cx else t.x, t.cy)

    # ---- XML ------------------------------------------------------------------------------
    def _node_xml(self, n: Node, ind: str) -> str:
        tag = KIND_TAG[n.kind][0]
        a = f'id="{n.id}" name={q(n.name)}'
        if n.kind == "call":
            a += f' calledElement="{n.attrs["called"]}"'
        if n.kind in ("xor", "or") and n.id in self.defaults:
            a += f' default="{self.defaults[n.id]}"'
        if n.kind == "boundary":
            a += f' attachedToRef="{n.attrs["attached"]}"'
            a += ' cancelActivity="%s"' % ("true" if n.attrs.get("interrupting") else "false")
        if n.kind == "start" and n.parent and "message" in n.attrs:
            a += ' isInterrupting="%s"' % ("true" if n.attrs.get("interrupting") else "false")
        body = []
        ext = []
        if n.kind == "user":
            if n.attrs.get("instructions"):
                ext.append(f"<spiffworkflow:instructionsForEndUser>{escape(n.attrs['instructions'])}"
                           f"</spiffworkflow:instructionsForEndUser>")
            props = "".join(f'<spiffworkflow:property name="{k}" value={q(v)} />'
                            for k, v in n.attrs["properties"].items())
            ext.append(f"<spiffworkflow:properties>{props}</spiffworkflow:properties>")
        if n.kind == "service":
            params = "".join(f'<spiffworkflow:parameter id="{k}" type="str" value={q(v)} />'
                             for k, v in n.attrs["params"].items())
            ext.append(f'<spiffworkflow:serviceTaskOperator id="{n.attrs["operator"]}">'
                       f"<spiffworkflow:parameters>{params}</spiffworkflow:parameters>"
                       f"</spiffworkflow:serviceTaskOperator>")
        if n.kind == "rule":
            ext.append(f"<spiffworkflow:calledDecisionId>{n.attrs['decision']}</spiffworkflow:calledDecisionId>")
        if ext:
            body.append("<bpmn:extensionElements>" + "".join(ext) + "</bpmn:extensionElements>")
        if n.kind == "script":
            body.append(f"<bpmn:script>{escape(n.attrs['script'])}</bpmn:script>")
        if n.attrs.get("terminate"):
            body.append(f'<bpmn:terminateEventDefinition id="{n.id}_def" />')
        if "time_date" in n.attrs:
            body.append('<bpmn:timerEventDefinition><bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
                        f"{escape(n.attrs['time_date'])}</bpmn:timeDate></bpmn:timerEventDefinition>")
        if "message" in n.attrs:
            mid = self.messages[n.attrs["message"]]
            var = n.attrs.get("variable")
            inner = ("<spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>case_id"
                     "</spiffworkflow:propertyId><spiffworkflow:expression>case_id</spiffworkflow:expression>"
                     "</spiffworkflow:processVariableCorrelation>")
            if var:
                inner += f"<spiffworkflow:messageVariable>{var}</spiffworkflow:messageVariable>"
            body.append(f'<bpmn:messageEventDefinition id="{n.id}_def" messageRef="{mid}">'
                        f"<bpmn:extensionElements>{inner}</bpmn:extensionElements>"
                        f"</bpmn:messageEventDefinition>")
        if body:
            return f"{ind}<{tag} {a}>\n" + "".join(f"{ind}  {b}\n" for b in body) + f"{ind}</{tag}>\n"
        return f"{ind}<{tag} {a} />\n"

    def _flow_xml(self, f: Flow, ind: str) -> str:
        a = f'id="{f.id}" sourceRef="{f.source}" targetRef="{f.target}"'
        if f.name:
            a += f" name={q(f.name)}"
        if f.condition:
            return (f"{ind}<bpmn:sequenceFlow {a}>\n{ind}  <bpmn:conditionExpression "
                    f'xsi:type="bpmn:tFormalExpression">{escape(f.condition)}</bpmn:conditionExpression>\n'
                    f"{ind}</bpmn:sequenceFlow>\n")
        return f"{ind}<bpmn:sequenceFlow {a} />\n"

    def to_xml(self, executable=True) -> str:
        self.layout()
        self.validate()
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
               '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
               'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
               'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
               'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
               f'id="Definitions_{self.id}" targetNamespace="http://bpmn.io/schema/bpmn" '
               'exporter="placements bpmn/tools/bpmnbuild.py" exporterVersion="1">\n']
        part = f"Participant_{self.id}"
        out.append(f'  <bpmn:collaboration id="Collaboration_{self.id}">\n')
        out.append(f'    <bpmn:participant id="{part}" name={q(self.name)} processRef="{self.id}" />\n')
        if self.messages:
            out.append('    <bpmn:correlationKey name="case">\n'
                       "      <bpmn:correlationPropertyRef>case_id</bpmn:correlationPropertyRef>\n"
                       "    </bpmn:correlationKey>\n")
        out.append("  </bpmn:collaboration>\n")
        for name, mid in self.messages.items():
            out.append(f'  <bpmn:message id="{mid}" name="{name}" />\n')
        if self.messages:
            out.append('  <bpmn:correlationProperty id="case_id" name="case_id">\n')
            for name, mid in self.messages.items():
                out.append(f'    <bpmn:correlationPropertyRetrievalExpression messageRef="{mid}">\n'
                           "      <bpmn:formalExpression>case_id</bpmn:formalExpression>\n"
                           "    </bpmn:correlationPropertyRetrievalExpression>\n")
            out.append("  </bpmn:correlationProperty>\n")
        out.append(f'  <bpmn:process id="{self.id}" name={q(self.name)} isExecutable="{str(executable).lower()}">\n')
        if self.doc:
            out.append(f"    <bpmn:documentation>{escape(self.doc)}</bpmn:documentation>\n")
        out.append(f'    <bpmn:laneSet id="LaneSet_{self.id}">\n')
        for lane in self.lanes:
            out.append(f'      <bpmn:lane id="Lane_{self.id}_{lane}" name="{lane}">\n')
            for n in self.nodes.values():
                if n.lane == lane and n.parent is None:
                    out.append(f"        <bpmn:flowNodeRef>{n.id}</bpmn:flowNodeRef>\n")
            for sid, sp in self.subprocs.items():
                if sp["lane"] == lane:
                    out.append(f"        <bpmn:flowNodeRef>{sid}</bpmn:flowNodeRef>\n")
                    # the engine gives a subprocess's children its lane; the reference is explicit
                    # so that every user task is visibly in a lane
                    for n in self.nodes.values():
                        if n.parent == sid:
                            out.append(f"        <bpmn:flowNodeRef>{n.id}</bpmn:flowNodeRef>\n")
            out.append("      </bpmn:lane>\n")
        out.append("    </bpmn:laneSet>\n")
        for n in self.nodes.values():
            if n.parent is None:
                out.append(self._node_xml(n, "    "))
        for f in self.flows:
            if f.parent is None:
                out.append(self._flow_xml(f, "    "))
        for sid, sp in self.subprocs.items():
            out.append(f'    <bpmn:subProcess id="{sid}" name={q(sp["name"])} triggeredByEvent="true">\n')
            for n in self.nodes.values():
                if n.parent == sid:
                    out.append(self._node_xml(n, "      "))
            for f in self.flows:
                if f.parent == sid:
                    out.append(self._flow_xml(f, "      "))
            out.append("    </bpmn:subProcess>\n")
        out.append("  </bpmn:process>\n")
        out.append(self._di_xml(part))
        out.append("</bpmn:definitions>\n")
        return "".join(out)

    def _di_xml(self, part) -> str:
        def b(x, y, w, h):
            return f'<dc:Bounds x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" />'

        out = [f'  <bpmndi:BPMNDiagram id="Diagram_{self.id}">\n',
               f'    <bpmndi:BPMNPlane id="Plane_{self.id}" bpmnElement="Collaboration_{self.id}">\n']
        out.append(f'      <bpmndi:BPMNShape id="{part}_di" bpmnElement="{part}" isHorizontal="true">'
                   f"{b(POOL_X, 80, self.width + 30, self.height)}</bpmndi:BPMNShape>\n")
        for lane in self.lanes:
            y, h = self.lane_geo[lane]
            out.append(f'      <bpmndi:BPMNShape id="Lane_{self.id}_{lane}_di" bpmnElement="Lane_{self.id}_{lane}" '
                       f'isHorizontal="true">{b(LANE_X, y, self.width, h)}</bpmndi:BPMNShape>\n')
        for sid, (x, y, w, h) in self.sub_geo.items():
            out.append(f'      <bpmndi:BPMNShape id="{sid}_di" bpmnElement="{sid}" isExpanded="true">'
                       f"{b(x, y, w, h)}</bpmndi:BPMNShape>\n")
        for n in self.nodes.values():
            if n.kind == "boundary":
                continue
            out.append(self._shape(n, b))
        for n in self.nodes.values():
            if n.kind == "boundary":
                out.append(self._shape(n, b))
        for f in self.flows:
            pts = self.waypoints(f)
            wp = "".join(f'<di:waypoint x="{x:.0f}" y="{y:.0f}" />' for x, y in pts)
            label = ""
            if f.name:
                (x0, y0), (x1, y1) = pts[0], pts[1]
                if abs(x0 - x1) < 1:    # vertical first segment
                    lx, ly = x0 + 5, (y0 + y1) / 2 - 10
                else:
                    lx, ly = min(x0, x1) + 6, y0 - 22
                label = f"<bpmndi:BPMNLabel>{b(lx, ly, max(40, 6.2 * len(f.name)), 14)}</bpmndi:BPMNLabel>"
            out.append(f'      <bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wp}{label}</bpmndi:BPMNEdge>\n')
        out.append("    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n")
        return "".join(out)

    def _shape(self, n, b):
        label = ""
        shape_kind = KIND_TAG[n.kind][1]
        if shape_kind == "gateway" and n.name:
            w = max(60, 6.2 * len(n.name))
            label = f"<bpmndi:BPMNLabel>{b(n.cx - w / 2, n.y - 30, w, 27)}</bpmndi:BPMNLabel>"
        elif shape_kind == "event" and n.name:
            w = max(60, min(110, 6.2 * len(n.name)))
            lines = 1 + int(6.2 * len(n.name) / 110)
            label = f"<bpmndi:BPMNLabel>{b(n.cx - w / 2, n.y + n.h + 4, w, 14 * lines)}</bpmndi:BPMNLabel>"
        marker = ' isMarkerVisible="true"' if n.kind == "xor" else ""
        return (f'      <bpmndi:BPMNShape id="{n.id}_di" bpmnElement="{n.id}"{marker}>'
                f"{b(n.x, n.y, n.w, n.h)}{label}</bpmndi:BPMNShape>\n")

    def validate(self):
        ids = set(self.nodes)
        for f in self.flows:
            assert f.source in ids and f.target in ids, f"bad flow {f.id}"
            assert self.nodes[f.source].parent == self.nodes[f.target].parent, f"flow crosses subprocess {f.id}"
        for n in self.nodes.values():
            assert n.lane in self.lanes, f"{n.id}: lane {n.lane} not in process lanes"
        # no two shapes in one cell
        seen = {}
        for n in self.nodes.values():
            if n.kind == "boundary":
                continue
            key = (n.lane, n.col, n.row)
            assert key not in seen, f"{n.id} overlaps {seen[key]}"
            seen[key] = n.id
