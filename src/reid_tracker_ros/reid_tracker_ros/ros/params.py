"""Declare a node's parameters from the schema with the YAML defaults, and guard changes."""
from __future__ import annotations

from typing import Any, Callable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node

from ..config import PARAMETER_SCHEMA, ParamSpec, preset_defaults, validated_parameters, yaml_parameters


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    desc = ParameterDescriptor(description=spec.description, read_only=not spec.dynamic)
    if spec.choices:
        desc.additional_constraints = f"one of {list(spec.choices)}"
    if spec.type is float and spec.min_value is not None and spec.max_value is not None:
        desc.floating_point_range = [FloatingPointRange(from_value=float(spec.min_value),
                                                        to_value=float(spec.max_value), step=0.0)]
    if spec.type is int and spec.min_value is not None and spec.max_value is not None:
        desc.integer_range = [IntegerRange(from_value=int(spec.min_value), to_value=int(spec.max_value), step=1)]
    return desc


def _plain(value: Any) -> Any:
    """rclpy returns arrays for list parameters; the cores want plain lists."""
    return list(value) if hasattr(value, "tolist") or isinstance(value, (tuple,)) else value


def declare_node_parameters(node: Node, schema_name: str,
                            on_change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Declare every parameter of ``schema_name`` (defaults: the package's config/default.yaml;
    a --params-file overrides them) and return the validated values.

    Run-time changes are allowed only for parameters marked dynamic; they are validated
    against the schema (out-of-range values are rejected with the reason) and passed to
    ``on_change`` as {name: new value}.
    """
    specs = PARAMETER_SCHEMA[schema_name]
    defaults = yaml_parameters(schema_name, None)
    for spec in specs:
        if spec.from_preset and spec.name not in defaults:
            continue  # declared below, once the value that selects the preset is known
        if spec.name not in defaults:
            raise ValueError(f"config/default.yaml has no value for {schema_name}.{spec.name}")
        node.declare_parameter(spec.name, defaults[spec.name], _descriptor(spec))
    # preset-backed parameters: default from the preset the (possibly overridden) values select,
    # so `tracker: bytetrack` in a params file brings ByteTrack's own thresholds
    current = {s.name: _plain(node.get_parameter(s.name).value) for s in specs if node.has_parameter(s.name)}
    for name, value in preset_defaults(schema_name, current).items():
        if not node.has_parameter(name):
            node.declare_parameter(name, value, _descriptor(next(s for s in specs if s.name == name)))
    values = {s.name: _plain(node.get_parameter(s.name).value) for s in specs}
    validated = validated_parameters(schema_name, values)
    by_name = {s.name: s for s in specs}

    def _guard(params) -> SetParametersResult:
        changes: dict[str, Any] = {}
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                continue
            try:
                changes[p.name] = spec.validate(_plain(p.value))
            except ValueError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        if changes and on_change is not None:
            on_change(changes)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(_guard)
    return validated
