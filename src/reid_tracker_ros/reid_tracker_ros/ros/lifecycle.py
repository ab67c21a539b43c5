"""The lifecycle shell the detector, embedder and tracker share (rclpy.lifecycle).

States and what each node does in them (REP-2004 / ROS 2 managed nodes):

- unconfigured: parameters are declared, ``/diagnostics`` reports "unconfigured"; nothing loaded.
- configure:    load the model / build the core, create the (lifecycle) publishers.
- activate:     create the subscriptions: processing starts. Publishers are enabled.
- deactivate:   destroy the subscriptions (no message is even deserialised while inactive: an
                inactive detector costs no CPU), publishers disabled; models stay loaded.
- cleanup:      release the model and the core's state (back to unconfigured).
- shutdown:     as cleanup, from any state.

Subscriptions are created and destroyed rather than gated by a flag so an inactive node holds
no DDS queues and a re-activated one starts from fresh frames, not from stale queued ones.

Plain-node behaviour: with the parameter ``autostart`` (default true) the node configures and
activates itself in its constructor, so ``ros2 run``, the local runner, the evaluator and the
demo need no lifecycle manager; a configure failure then ends the process with the reason
(as a plain node failing at start-up would). With ``autostart: false`` the node waits in
'unconfigured' for a lifecycle manager (``ros2 lifecycle set /detector configure``, nav2's
lifecycle_manager, launch_ros LifecycleNode events) and a failed configure leaves it
unconfigured, ready to retry.
"""
from __future__ import annotations

import time
from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from ..stats import StageStats, StampOrder, StampVerdict
from .diagnostics import DiagnosticsReporter
from .node_runtime import ErrorCounter
from .params import declare_node_parameters


class ManagedNode(LifecycleNode):
    """Base of the three processing nodes. Subclasses implement:

    - ``configure_resources()``: load models / build cores, create publishers (raise on failure)
    - ``create_inputs()``: create and return the subscriptions (and timers) that process data
    - ``release_resources()``: drop models and state (idempotent)
    - ``diagnostic_values()``: extra (key, value) pairs (model, backend...) for /diagnostics
    - ``on_parameters(changes)``: apply validated dynamic parameter changes
    """

    schema_name = ""

    def __init__(self, node_name: str) -> None:
        super().__init__(node_name)
        self._guard_change_state_service()
        self.params: dict[str, Any] = declare_node_parameters(self, self.schema_name, self._on_parameters)
        self.stats = StageStats()
        self.errors = ErrorCounter(self, counts=self.stats.errors)
        self.stamp_order = StampOrder()
        self._inputs: list = []
        self._warnings: list[str] = []
        self.configure_error: str | None = None
        self.diagnostics = DiagnosticsReporter(self, self.params["diagnostics_period"], self._diagnostic_values)
        if self.params["autostart"]:
            if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                raise RuntimeError(f"configure failed: {self.configure_error or 'see the log above'}")
            if self.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                raise RuntimeError(f"activate failed: {self.configure_error or 'see the log above'}")

    def _guard_change_state_service(self) -> None:
        """rclpy (Jazzy) raises out of the change_state service for a transition the current
        state does not have (``ros2 lifecycle set /tracker configure`` twice), which ends the
        node's spin and so the process. Answer such requests with success=false instead."""
        service = self._service_change_state
        original = service.callback

        def guarded(request, response):
            try:
                return original(request, response)
            except Exception as exc:  # noqa: BLE001 - RCLError: transition not registered
                self.get_logger().warn(f"lifecycle transition {request.transition.id} "
                                       f"'{request.transition.label}' refused in state '{self.state_label}': {exc}")
                response.success = False
                return response

        service.callback = guarded

    # -- hooks (subclasses) ------------------------------------------------------------------
    def configure_resources(self) -> None:
        raise NotImplementedError

    def create_inputs(self) -> list:
        raise NotImplementedError

    def release_resources(self) -> None:
        raise NotImplementedError

    def diagnostic_values(self) -> list[tuple[str, str]]:
        return []

    def on_parameters(self, changes: dict[str, Any]) -> None:
        """Validated changes of dynamic parameters; ``self.params`` already holds them."""

    # -- lifecycle transitions ---------------------------------------------------------------
    @property
    def state_label(self) -> str:
        """'unconfigured', 'inactive', 'active', 'finalized' or a transition state."""
        return str(self._state_machine.current_state[1])

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.configure_error = None
        self.get_logger().info("configuring")
        try:
            self.configure_resources()
        except Exception as exc:  # noqa: BLE001 - any load failure: report the reason, stay unconfigured
            self.configure_error = f"{type(exc).__name__}: {exc}"
            self.get_logger().error(f"configure failed: {self.configure_error}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info("configured")
        return super().on_configure(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._inputs = list(self.create_inputs())
        except Exception as exc:  # noqa: BLE001
            self.configure_error = f"{type(exc).__name__}: {exc}"
            self.get_logger().error(f"activate failed: {self.configure_error}")
            self._destroy_inputs()
            return TransitionCallbackReturn.FAILURE
        self.stamp_order.reset()
        self.get_logger().info("active: processing")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_inputs()
        self.get_logger().info("inactive: processing stopped")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("cleaned up: resources released")
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_inputs()
        self._release()
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_inputs()
        self._release()
        return TransitionCallbackReturn.SUCCESS  # back to unconfigured

    # -- helpers -----------------------------------------------------------------------------
    def _destroy_inputs(self) -> None:
        for entity in self._inputs:
            kind = type(entity).__name__
            destroy = getattr(self, {"Timer": "destroy_timer", "Service": "destroy_service"}.get(
                kind, "destroy_subscription"))
            destroy(entity)
        self._inputs = []

    def _release(self) -> None:
        try:
            self.release_resources()
        finally:
            for pub in list(getattr(self, "_lifecycle_pubs", [])):
                self.destroy_lifecycle_publisher(pub)
            self._lifecycle_pubs = []

    def make_publisher(self, msg_type, topic: str, qos):
        """A lifecycle publisher (silent while inactive) released again by cleanup."""
        pub = self.create_lifecycle_publisher(msg_type, topic, qos)
        self._lifecycle_pubs = [*getattr(self, "_lifecycle_pubs", []), pub]
        return pub

    def _on_parameters(self, changes: dict[str, Any]) -> None:
        self.params.update(changes)
        self.on_parameters(changes)

    def check_stamp(self, stamp_ns: int, topic: str, order: StampOrder | None = None) -> bool:
        """Frame order guard: duplicates and stragglers are dropped (counted, logged), a large
        jump back means a restarted source and is accepted (subclasses reset their state in
        ``on_time_jump``). Returns whether to process the frame."""
        order = self.stamp_order if order is None else order
        verdict = order.check(stamp_ns)
        if verdict is StampVerdict.NEW:
            return True
        if verdict is StampVerdict.JUMP_BACK:
            self.get_logger().warn(f"'{topic}' stamps jumped back to {stamp_ns * 1e-9:.3f} s: source "
                                   "restarted? state reset")
            self.on_time_jump()
            return True
        self.stats.drop(verdict.value)
        self.errors.report(verdict.value, f"'{topic}' frame stamped {stamp_ns * 1e-9:.6f} s skipped: "
                           f"{verdict.value.replace('_', '-')} (newest processed "
                           f"{(order.last or 0) * 1e-9:.6f} s)")
        return False

    def on_time_jump(self) -> None:
        """Reset stateful cores after a restarted source (see :meth:`check_stamp`)."""

    def warn_now(self, text: str) -> None:
        """A warning shown (level WARN) in the next diagnostics report only."""
        self._warnings.append(text)

    def _diagnostic_values(self) -> tuple[list[str], list[tuple[str, str]]]:
        state = self.state_label
        values = [("state", state)] + self.diagnostic_values()  # may add warnings: ask first
        warnings, self._warnings = self._warnings, []
        if state != "active":
            warnings.append(f"{state}" + (f": {self.configure_error}" if self.configure_error else ""))
        return warnings, values

    @staticmethod
    def latency_ms(received_ns: int | None) -> float | None:
        """Milliseconds since DDS received the input (queueing in the node included)."""
        if not received_ns:
            return None
        return (time.time_ns() - int(received_ns)) * 1e-6

    def now_s(self) -> float:
        return time.monotonic()


def message_info_value(info: Any, key: str) -> int | None:
    """A field of rclpy's MessageInfo (a dict in Jazzy), None where the middleware has none.
    rclpy passes it only to callbacks whose second parameter has NO default value."""
    try:
        value = info.get(key) if isinstance(info, dict) else getattr(info, key, None)
    except Exception:  # noqa: BLE001
        return None
    return int(value) if value else None

