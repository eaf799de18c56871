"""name / pretrained -> VideoCLIP. Architectures are open_clip JSON configs in vidclip/model_configs/
(open_clip's own registry is the fallback), or `hf-hub:ORG/NAME` (an open_clip or a transformers
CLIP repository); weights come from `pretrained`:

- None: random init;  an open_clip tag ("openai", "laion2b_s34b_b79k", ...): open_clip downloads it;
- a vidclip checkpoint (folder or .safetensors with a vidclip config): its towers, and its adapter
  too when the adapter name matches; the architecture must match `name`'s;
- a Hugging Face `CLIPModel` folder, sharded or not (converted; the architecture comes from its
  config.json, mean/std from its preprocessor_config.json; `name` may be the folder itself, otherwise
  it must name the same architecture);
- a weights file with open_clip keys (.safetensors, or .pt/.bin/.pth read without unpickling).
"""

import contextlib
import copy
import importlib.util
import inspect
import json
import os
from functools import lru_cache
from pathlib import Path

import open_clip
import torch

from vidclip.errors import CheckpointError, TowerError
from vidclip.adapters import build_adapter
from vidclip.checkpoint import WEIGHTS, read_config, read_state_dict, weights_path
from vidclip.convert.hf import check_hf_convertible, hf_clip_to_open_clip, hf_model_type
from vidclip.convert.siglip import hf_siglip_to_open_clip, name_differences as siglip_name_differences, register_siglip_trunk
from vidclip.model import VideoCLIP
from vidclip.registry import ADAPTERS

_CONFIG_DIR = Path(__file__).parent / "model_configs"
_HF_CONVERTERS = {"clip": hf_clip_to_open_clip, "siglip": hf_siglip_to_open_clip}  # Hugging Face family -> converter
_CLIP_KEYS = ("embed_dim", "vision_cfg", "text_cfg", "quick_gelu", "init_logit_scale", "init_logit_bias",
              "nonscalar_logit_scale", "custom_text")


def list_models(adapter=None):
    """Architectures vidclip builds: its own configs, then every open_clip config whose towers it runs
    (decided from the config, nothing is built). With an adapter that hooks ViT blocks (prompts), only
    those whose vision tower has blocks."""
    own = _own_configs()
    hooks = adapter is not None and ADAPTERS[adapter].hooks_vision_blocks
    builds = [name for name in open_clip.list_models() if name not in own and _runs(open_clip.get_model_config(name), hooks)]
    return own + builds


def _own_configs():
    return sorted(p.stem for p in _CONFIG_DIR.glob("*.json"))


_HOOKABLE_TIMM_MODULES = ("vision_transformer", "vision_transformer_hybrid", "eva", "vitamin")  # trunks of ViT blocks (checked)


def _runs(cfg, needs_blocks=False):
    """Whether vidclip runs this open_clip config's towers (see vidclip.towers), from the config alone."""
    vision, text = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    if "multimodal_cfg" in cfg or text.get("embed_cls") or vision.get("attentional_pool"):
        return False  # CoCa
    if "hf_model_name" in text and importlib.util.find_spec("transformers") is None:
        return False
    timm_name = vision.get("timm_model_name")
    if timm_name is None:
        return not needs_blocks or not isinstance(vision.get("layers"), (list, tuple))  # a list: ModifiedResNet
    import timm

    if not timm.is_model(timm_name):
        return False
    return not needs_blocks or _timm_module(timm_name) in _HOOKABLE_TIMM_MODULES


def _timm_module(name):
    from timm.models._registry import _model_to_module

    return _model_to_module.get(name)


def model_config(name):
    """open_clip model config dict for an architecture name."""
    path = _CONFIG_DIR / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ValueError(f"unknown architecture {name!r}; vidclip ships {', '.join(_own_configs())} "
                         "and open_clip's configs work too (vidclip.list_models() lists them all)")
    return cfg


def create_model(name, pretrained=None, adapter="meanp", num_frames=12, *, freeze=None, device="cpu",
                 cache_dir=None, loss="auto", **overrides):
    """Build a VideoCLIP; overrides go to the adapter (its keyword arguments) or the CLIP config keys.

    loss: "auto" trains with the towers' own objective (sigmoid for SigLIP towers, softmax InfoNCE
    otherwise); "softmax" or "sigmoid" chooses.
    """
    accepted = set(inspect.signature(ADAPTERS[adapter]).parameters) - {"clip", "num_frames"}
    unknown = set(overrides) - accepted - set(_CLIP_KEYS)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for adapter {adapter!r}; "
                         f"adapter options: {sorted(accepted)}; model options: {list(_CLIP_KEYS)}")
    adapter_options = {k: v for k, v in overrides.items() if k in accepted}
    clip_overrides = {k: v for k, v in overrides.items() if k not in accepted}

    state, preprocess, same_adapter = None, {}, False
    vidclip_cfg = read_config(pretrained) if pretrained and Path(pretrained).exists() else None
    if vidclip_cfg is not None:
        clip_cfg, preprocess = vidclip_cfg["clip"], vidclip_cfg.get("preprocess", {})
        if _arch(_merge(model_config(name), clip_overrides)) != _arch(clip_cfg):
            raise CheckpointError(f"{pretrained} holds a {vidclip_cfg.get('model')!r} model, not {name!r}")
        state = read_state_dict(weights_path(pretrained))
        same_adapter = vidclip_cfg.get("adapter") == adapter
        if same_adapter and not adapter_options:  # continue with the saved adapter's options
            adapter_options = saved_adapter_options(vidclip_cfg)
    elif (hf_folder := _hf_folder(name, pretrained, cache_dir)) is not None:
        clip_cfg, clip_state, preprocess = _HF_CONVERTERS[check_hf_convertible(hf_folder)](hf_folder)
        if pretrained:  # the folder came as weights for `name`: both must describe one architecture
            _check_name_fits(name, clip_cfg, hf_folder)
        state = {f"clip.{k}": v for k, v in clip_state.items()}
    elif name.startswith(("hf-hub:", "local-dir:")):  # open_clip resolves config and weights itself
        with _hub_cache_only_when_offline(name):
            clip = open_clip.create_model(name, cache_dir=cache_dir)
            clip_cfg = _merge(open_clip.get_model_config(name), clip_overrides)
        preprocess = dict(getattr(clip.visual, "preprocess_cfg", {}))
        state = {f"clip.{k}": v for k, v in clip.state_dict().items()}
    else:
        clip_cfg = _merge(model_config(name), clip_overrides)
        if pretrained and Path(pretrained).is_file():
            state = {f"clip.{k}": v for k, v in _strip_clip_prefix(read_state_dict(pretrained)).items()}
        elif pretrained:
            tag = open_clip.get_pretrained_cfg(name, pretrained)
            if not tag:
                raise ValueError(f"pretrained={pretrained!r} is neither a file/folder nor an open_clip tag for {name!r}; "
                                 f"tags: {open_clip.list_pretrained_tags_by_model(name)}")
            clip_cfg["quick_gelu"] = tag.get("quick_gelu", clip_cfg.get("quick_gelu", False))
            preprocess = {k: tag[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag}
            path = download_tag(name, pretrained, tag, cache_dir=cache_dir)
            state = {f"clip.{k}": v for k, v in open_clip.factory.load_state_dict(path, weights_only=True).items()}

    config = {"model": name, "clip": clip_cfg, "adapter": adapter, "adapter_options": adapter_options,
              "num_frames": num_frames, "loss": loss, "preprocess": _preprocess(clip_cfg, preprocess), "source": str(pretrained) if pretrained else None}
    model = build_model(config, freeze=freeze)
    if state is not None:
        _load_weights(model, state, with_adapter=same_adapter)
    return model.to(device)


def _hf_folder(name, pretrained, cache_dir):
    """The Hugging Face model folder that `name` or `pretrained` points to (a `hf-hub:` transformers
    repository is downloaded first), or None: open_clip repositories and everything else load elsewhere."""
    if pretrained:
        return pretrained if Path(pretrained).is_dir() and hf_model_type(pretrained) else None
    if Path(name).is_dir() and hf_model_type(name):
        return name
    if name.startswith("hf-hub:"):
        with _hub_cache_only_when_offline(name):
            return _hub_transformers_folder(name[len("hf-hub:"):], cache_dir)
    return None


def _hub_transformers_folder(repo, cache_dir):
    """The cached folder of a transformers repository: its JSON files first, then the weights they ask
    for (safetensors when the repository has them); None for an open_clip repository."""
    from huggingface_hub import snapshot_download

    folder = Path(snapshot_download(repo, allow_patterns=["*.json", "*.model"], cache_dir=cache_dir))  # .model: SigLIP's tokenizer
    if (folder / "open_clip_config.json").is_file() or not hf_model_type(folder):
        return None
    check_hf_convertible(folder)
    for patterns in (["model.safetensors", "model-*-of-*.safetensors"], ["pytorch_model.bin", "pytorch_model-*-of-*.bin"]):
        folder = Path(snapshot_download(repo, allow_patterns=patterns, cache_dir=cache_dir))
        if any(folder.glob(pattern) for pattern in patterns):
            return folder
    return folder  # no weights: reading them says so


def _check_name_fits(name, hf_cfg, folder):
    """`create_model(name, pretrained=hf_folder)`: refuse a name whose architecture is not the folder's."""
    try:
        named = model_config(name)
    except ValueError:
        raise ValueError(f"unknown architecture {name!r}; to load the Hugging Face folder {folder} as it is, "
                         f"pass it as the name: vidclip.load({str(folder)!r}) or create_model({str(folder)!r})") from None
    differs = arch_differences(named, hf_cfg)
    if check_hf_convertible(folder) == "siglip":
        differs = siglip_name_differences(differs, named, hf_cfg)
    if differs:
        raise CheckpointError(f"{folder} holds another architecture than {name!r} ({'; '.join(differs[:4])}); "
                              f"pass the folder as the name instead: vidclip.load({str(folder)!r})")


def arch_differences(ours, theirs):
    """'vision_cfg.width: 768 != 64' for each open_clip config field where two CLIP configs differ."""
    from dataclasses import asdict

    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    def fields(cfg):
        flat = {"embed_dim": cfg["embed_dim"], "quick_gelu": bool(cfg.get("quick_gelu", False))}
        text = asdict(CLIPTextCfg(**cfg["text_cfg"]))
        if text["pool_type"] == "eos" and text["eos_id"] == text["vocab_size"] - 1:  # the first eos is the argmax
            text.update(pool_type="argmax", eos_id=CLIPTextCfg.eos_id)
        flat.update({f"vision_cfg.{k}": v for k, v in asdict(CLIPVisionCfg(**cfg["vision_cfg"])).items()})
        flat.update({f"text_cfg.{k}": v for k, v in text.items()})
        return flat

    a, b = fields(ours), fields(theirs)
    return [f"{key}: {a[key]!r} != {b[key]!r}" for key in a if a[key] != b.get(key) and "tokenizer" not in key]


def download_tag(name, pretrained, tag, *, cache_dir=None):
    """open_clip's download of a pretrained tag, failing in seconds without network (open_clip and
    huggingface_hub retry for about a minute) with a message on how to place the weights by hand."""
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    host = _download_host(tag)
    if offline or not _reachable(host):
        cached = _cached_download(tag, cache_dir)
        if cached:
            return cached
        why = "HF_HUB_OFFLINE is set" if offline else f"{host} cannot be reached"
        raise CheckpointError(_place_weights_help(name, pretrained, tag, cache_dir, why))
    try:
        return open_clip.download_pretrained(tag, cache_dir=cache_dir)
    except Exception as error:  # network or hub errors, in many types
        raise CheckpointError(_place_weights_help(name, pretrained, tag, cache_dir, f"the download failed: {error}")) from None


@contextlib.contextmanager
def _hub_cache_only_when_offline(name):
    """Around open_clip's own `hf-hub:` download: without network, read the local cache only (as
    HF_HUB_OFFLINE=1 does) instead of retrying for a minute, and say how to place the files."""
    from huggingface_hub import constants

    if not name.startswith("hf-hub:") or (
            not constants.HF_HUB_OFFLINE and _reachable(_download_host({"hf_hub": name[len("hf-hub:"):] + "/"}))):
        yield
        return
    before, constants.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE, True
    try:
        yield
    except Exception as error:  # nothing cached: hub errors come in many types
        raise CheckpointError(
            f"cannot download {name} (no network, and it is not in the Hugging Face cache {constants.HF_HUB_CACHE}): "
            f"where there is network, download https://huggingface.co/{name[len('hf-hub:'):]} and copy the cache "
            f"here (then HF_HUB_OFFLINE=1), or use its weights file: --pretrained /path/to/weights") from error
    finally:
        constants.HF_HUB_OFFLINE = before


def _hf_file(tag):
    """(repo_id, file name) of a tag's Hugging Face copy, or None."""
    if not tag.get("hf_hub"):
        return None
    repo, filename = os.path.split(tag["hf_hub"])
    return repo, filename or "open_clip_pytorch_model.bin"


def _download_host(tag) -> str:
    from urllib.parse import urlparse

    if _hf_file(tag):
        return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    return urlparse(tag.get("url", "")).hostname or ""


def _reachable(host: str, timeout: float = 3.0) -> bool:
    import socket

    if any(os.environ.get(key) for key in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # only the proxy knows; let the download try
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _cached_download(tag, cache_dir):
    """The local copy of a tag's weights that open_clip would use, or None."""
    hf = _hf_file(tag)
    if hf:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = hf
        for candidate in (str(Path(filename).with_suffix(".safetensors")), filename):
            found = try_to_load_from_cache(repo, candidate, cache_dir=cache_dir)
            if isinstance(found, str):
                return found
    if tag.get("url"):
        local = Path(cache_dir or Path.home() / ".cache" / "clip") / os.path.basename(tag["url"])
        if local.is_file():
            return str(local)
    return None


def _place_weights_help(name, pretrained, tag, cache_dir, why) -> str:
    from huggingface_hub.constants import HF_HUB_CACHE

    hf = _hf_file(tag)
    source = f"https://huggingface.co/{hf[0]}" if hf else tag.get("url")
    return (f"cannot download the {pretrained!r} weights of {name} ({why}). Where there is network, download "
            f"{source}, then either pass the file (--pretrained /path/to/weights, or model.pretrained in a config), "
            f"or copy the Hugging Face cache to {cache_dir or HF_HUB_CACHE} and set HF_HUB_OFFLINE=1")


def build_model(config, *, freeze=None):
    """config (as stored in checkpoints) -> VideoCLIP with fresh weights."""
    clip = build_clip(config["clip"])
    adapter = build_adapter(config["adapter"], clip=clip, num_frames=config["num_frames"], **saved_adapter_options(config))
    text = config["clip"]["text_cfg"]
    tokenizer = _tokenizer(text["context_length"], text.get("hf_tokenizer_name"), json.dumps(text.get("tokenizer_kwargs") or {}))
    return VideoCLIP(clip=clip, adapter=adapter, tokenizer=tokenizer, config=config,
                     preprocess_config=config["preprocess"], freeze=freeze or config.get("freeze"))


def build_clip(clip_cfg):
    """open_clip's model for a config, of the class `open_clip.create_model` picks (CustomTextCLIP for
    custom and Hugging Face text towers), random weights: no timm or HF base weights are fetched."""
    cfg = copy.deepcopy(clip_cfg)
    if "multimodal_cfg" in cfg:
        raise TowerError("CoCa models (multimodal_cfg) are not supported: vidclip needs a contrastive two-tower model")
    custom_text = cfg.pop("custom_text", False) or "hf_model_name" in cfg["text_cfg"]
    if "timm_model_name" in cfg["vision_cfg"]:
        cfg["vision_cfg"]["timm_model_pretrained"] = False
        register_siglip_trunk(cfg["vision_cfg"]["timm_model_name"])  # a converted SiglipModel's trunk
    if "hf_model_name" in cfg["text_cfg"]:
        cfg["text_cfg"]["hf_model_pretrained"] = False
    return (open_clip.model.CustomTextCLIP if custom_text else open_clip.model.CLIP)(**cfg)


def load_checkpoint(path, *, device="cpu"):
    """Rebuild a VideoCLIP from a vidclip checkpoint (folder or .safetensors), config and weights."""
    config = read_config(path)
    if config is None:
        if Path(path).is_dir() and hf_model_type(path):
            raise CheckpointError(f"{path} is a Hugging Face model folder, not a vidclip checkpoint: load it with "
                                  f"vidclip.load({str(path)!r}) or vidclip.create_model({str(path)!r}, adapter=...)")
        raise CheckpointError(f"{path} is not a vidclip checkpoint (no {WEIGHTS} with a vidclip config); a weights "
                              f"file with open_clip keys loads as vidclip.create_model(NAME, pretrained={str(path)!r})")
    try:
        model = build_model(config)
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError, RuntimeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{path}: its config does not describe a model vidclip can build "
                              f"({type(error).__name__}: {error})") from None
    try:
        model.load_state_dict(read_state_dict(weights_path(path)), strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: the weights do not fit the model its config describes "
                              f"({str(error).splitlines()[0]}) - a damaged or mixed-up checkpoint") from None
    return model.to(device)


def saved_adapter_options(config):
    """The adapter's constructor options in a stored config (checkpoints before 0.2 said "adapter_kwargs")."""
    return dict(config.get("adapter_options", config.get("adapter_kwargs", {})))


def _load_weights(model, state, *, with_adapter):
    clip_state = {k[len("clip."):]: v for k, v in state.items() if k.startswith("clip.")}
    open_clip.model.resize_pos_embed(clip_state, model.clip)
    open_clip.model.resize_text_pos_embed(clip_state, model.clip)
    missing, unexpected = model.clip.load_state_dict(clip_state, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"weights do not fit the architecture: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if with_adapter:
        try:
            model.adapter.load_state_dict({k[len("adapter."):]: v for k, v in state.items() if k.startswith("adapter.")})
        except RuntimeError as error:
            raise CheckpointError(f"the saved {model.adapter.name!r} adapter does not fit this one (other num_frames "
                                  f"or options than when saved?): {str(error).splitlines()[1:3]}") from None


def _strip_clip_prefix(state):
    if any(k.startswith("clip.") for k in state):  # a vidclip state dict without its config
        return {k[len("clip."):]: v for k, v in state.items() if k.startswith("clip.")}
    return state


def _merge(cfg, overrides):
    cfg = copy.deepcopy(cfg)
    for key, value in overrides.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def _arch(cfg):
    """The parts of a CLIP config that decide tensor shapes and maths."""
    return json.dumps({k: cfg.get(k) for k in ("embed_dim", "vision_cfg", "text_cfg")}, sort_keys=True)


def _preprocess(clip_cfg, tag):
    size = clip_cfg["vision_cfg"]["image_size"]
    return {
        "image_size": size if isinstance(size, int) else list(size),
        "mean": list(tag.get("mean", open_clip.OPENAI_DATASET_MEAN)),
        "std": list(tag.get("std", open_clip.OPENAI_DATASET_STD)),
        "interpolation": tag.get("interpolation", "bicubic"),
        "resize_mode": tag.get("resize_mode", "shortest"),
    }


@lru_cache(maxsize=8)
def _tokenizer(context_length, hf_name=None, options="{}"):
    """open_clip's tokenizer for a text config (options: its tokenizer_kwargs as JSON, hashable)."""
    if hf_name and Path(hf_name).is_absolute():  # a converted Hugging Face folder's own tokenizer
        return FolderTokenizer(hf_name, context_length, json.loads(options))
    if hf_name:
        return open_clip.tokenizer.HFTokenizer(hf_name, context_length=context_length, **json.loads(options))
    return open_clip.tokenizer.SimpleTokenizer(context_length=context_length)


class FolderTokenizer:
    """open_clip's HFTokenizer on a local Hugging Face folder, read when first used: a folder written by
    `save_pretrained` of the model alone has no tokenizer, and the towers run on token ids without one."""

    def __init__(self, folder, context_length, options):
        self.folder, self.context_length, self.options, self._tokenizer = folder, context_length, options, None

    FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "tokenizer.model", "vocab.json", "vocab.txt")

    def __call__(self, texts, context_length=None):
        if self._tokenizer is None:
            try:
                if not any((Path(self.folder) / name).is_file() for name in self.FILES):
                    raise FileNotFoundError(f"none of {', '.join(self.FILES)}")
                self._tokenizer = open_clip.tokenizer.HFTokenizer(self.folder, context_length=self.context_length, **self.options)
            except Exception as error:  # missing files, or transformers' sentencepiece dependency: many types
                raise CheckpointError(
                    f"cannot read the tokenizer of {self.folder} ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}): "
                    "save the tokenizer of the repository the model came from into that folder "
                    "(AutoTokenizer.from_pretrained(REPO).save_pretrained(FOLDER); SigLIP's needs `pip install sentencepiece`), "
                    "or pass token ids") from None
        return self._tokenizer(texts, context_length=context_length)
