"""Device/precision plumbing shared by the GAN trainer: plain torch on CPU, ``accelerate`` on GPU.

On CPU (this machine) importing accelerate buys nothing, so the plain path runs. With a GPU, or
when started by ``accelerate launch`` (which sets LOCAL_RANK/WORLD_SIZE), an ``Accelerator``
handles device placement, DDP wrapping and mixed precision (bf16 where the card supports it,
else fp16 with a loss scaler), so the same trainer code runs on 1..N GPUs.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterable

import torch
from torch import nn


def launched_distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or "LOCAL_RANK" in os.environ


def _wanted(amp: bool, cuda: bool) -> str:
    if not (amp and cuda):
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _accelerate_state_precision() -> str | None:
    """The mixed precision of this process's accelerate state, None when none exists yet."""
    try:
        from accelerate.state import AcceleratorState
    except ImportError:
        return None
    if not AcceleratorState._shared_state:
        return None
    return str(AcceleratorState().mixed_precision)


class Runtime:
    def __init__(self, amp: bool = True, use_accelerate: bool | None = None, device: str | None = None,
                 find_unused_parameters: bool = False) -> None:
        cuda = torch.cuda.is_available() and (device is None or str(device).startswith("cuda"))
        if use_accelerate is None:
            use_accelerate = cuda or launched_distributed()
        if use_accelerate and not launched_distributed() and _accelerate_state_precision() not in (None, _wanted(amp, cuda)):
            # accelerate keeps one process-wide state that cannot change precision: when another
            # trainer (the ReID one uses fp16) came first in this single process, run plainly with our
            # own bf16 autocast. fp16 with its loss scaler turned WGAN-GP critic losses into NaN.
            use_accelerate = False
        self.accelerator = None
        if use_accelerate:
            from accelerate import Accelerator
            from accelerate.utils import DistributedDataParallelKwargs

            precision = _wanted(amp, cuda)
            if launched_distributed() and _accelerate_state_precision() is not None:
                precision = _accelerate_state_precision()
            self.autocast_dtype = None
            self.accelerator = Accelerator(
                mixed_precision=precision, cpu=not cuda,
                kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused_parameters)])
            self.device = self.accelerator.device
            self.precision = precision
        else:
            self.device = torch.device(device or ("cuda" if cuda else "cpu"))
            self.precision = "bf16" if (cuda and amp and torch.cuda.is_bf16_supported()) else "no"
            self.autocast_dtype = torch.bfloat16 if self.precision == "bf16" else None

    @property
    def is_main(self) -> bool:
        return self.accelerator is None or self.accelerator.is_main_process

    @property
    def num_processes(self) -> int:
        return 1 if self.accelerator is None else self.accelerator.num_processes

    def prepare(self, *objs: Any) -> Any:
        if self.accelerator is None:
            out = tuple(o.to(self.device) if isinstance(o, nn.Module) else o for o in objs)
        else:
            out = self.accelerator.prepare(*objs)
            out = out if isinstance(out, tuple) else (out,)
        return out if len(out) != 1 else out[0]

    def autocast(self):
        if self.autocast_dtype is not None:
            return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)
        return self.accelerator.autocast() if self.accelerator is not None else contextlib.nullcontext()

    def backward(self, loss: torch.Tensor, inputs: Iterable[torch.Tensor] | None = None, retain_graph: bool = False) -> None:
        kwargs: dict[str, Any] = {"retain_graph": retain_graph}
        if inputs is not None:
            kwargs["inputs"] = list(inputs)
        if self.accelerator is not None:
            self.accelerator.backward(loss, **kwargs)
        else:
            loss.backward(**kwargs)

    def unwrap(self, model: nn.Module) -> nn.Module:
        return self.accelerator.unwrap_model(model) if self.accelerator is not None else model

    def wait(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
