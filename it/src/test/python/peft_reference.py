#!/usr/bin/python3
"""PEFT's LoRA and DoRA forward pass, written again from PEFT's formulas, to check lora4j's files.

An independent reference for "an adapter lora4j writes means in PEFT what it means in lora4j"
(issue 16, "The other direction"). PEFT itself is not needed: only torch and numpy (Debian's
python3-torch). Run by PeftReferenceTest as

    /usr/bin/python3 peft_reference.py CASE_DIR

where CASE_DIR holds
    model.json                 the model: {"layers": [...]} applied one after another, each
                               {"type": "linear" | "embedding" | "conv2d" | "relu" | "flatten",
                                "module": the module's path (the state_dict prefix) for the
                                          layers with weights,
                                "stride": [sh, sw], "padding": [ph, pw] for conv2d}
    base.safetensors           the base model's state_dict (lora4j's ModelCheckpoint.save)
    adapter/                   adapter_config.json + adapter_model.safetensors (lora4j's Lora.save)
    inputs.safetensors         "x": the model's input (float32 features, or int64 token ids)
and it writes
    logits.safetensors         "logits": the output of the base model with the adapter applied
    report.json                what it applied: per adapted module its type, r, alpha, scaling, DoRA

Which modules get an adapter, with which rank and alpha, and how the adapter changes a layer's
output follow PEFT (huggingface/peft, src/peft); each rule below names the PEFT function it
follows. The computation is float32, as PEFT's on a float32 model, in eval mode (no dropout).
Anything in adapter_config.json this reference does not implement is refused, never ignored.
"""

import json
import math
import re
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

PREFIX = "base_model.model."  # PeftModel -> LoraModel -> the user's model, in every saved key
SAFETENSORS_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


# ---------------------------------------------------------------- safetensors, by hand

def read_safetensors(path):
    """Tensors by name: an 8-byte little-endian header length, a JSON header, then raw little-endian data."""
    raw = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    data = raw[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in SAFETENSORS_DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}, which this reference does not read")
        start, end = info["data_offsets"]
        dtype = np.dtype(SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        array = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=True))
    return tensors


def write_safetensors(path, tensors):
    """The inverse of read_safetensors, for float32 tensors."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        blob = tensor.detach().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the format pads the header with spaces to a multiple of 8
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---------------------------------------------------------------- PEFT's config rules

def refuse_what_is_not_implemented(config):
    """Settings that would change the forward pass in ways this reference does not compute."""
    if config.get("peft_type", "LORA") != "LORA":
        raise SystemExit(f"peft_type {config.get('peft_type')} is not LORA")
    unsupported = {
        "fan_in_fan_out": False, "bias": "none", "lora_bias": False, "target_parameters": None,
        "trainable_token_indices": None,
    }
    for key, default in unsupported.items():
        value = config.get(key)
        if value not in (None, default, [], {}):
            raise SystemExit(f"adapter_config.json: {key}={value!r} is not implemented by this reference")
    init = config.get("init_lora_weights", True)
    if isinstance(init, str) and init.lower().startswith(("pissa", "olora", "corda", "loftq", "eva")):
        # these move part of W into A and B: the base on disk is no longer the model's base
        raise SystemExit(f"adapter_config.json: init_lora_weights={init!r} is not implemented by this reference")


def in_list(names, key):
    """PEFT's list match (tuners_utils.check_target_module_exists): the name itself or a '.'-suffix of it."""
    return any(key == name or key.endswith("." + name) for name in names)


def is_target(config, key):
    """Whether PEFT puts an adapter on the module at `key` (tuners_utils.check_target_module_exists)."""
    exclude = config.get("exclude_modules")
    if exclude:
        if isinstance(exclude, str) and re.fullmatch(exclude, key):
            return False
        if not isinstance(exclude, str) and in_list(exclude, key):
            return False
    # never inside a module of modules_to_save, read as a regex
    for m in config.get("modules_to_save") or []:
        if re.match(rf"(^|.*\.){m}($|\..*)", key):
            return False
    targets = config.get("target_modules")
    if isinstance(targets, str):
        return re.fullmatch(targets, key) is not None  # other.match_target_against_key
    targets = targets or []
    if key in targets:
        return True  # a whole path in the list is taken whatever its layer
    if not in_list(targets, key):
        return False
    wanted = config.get("layers_to_transform")
    if wanted is None or wanted == []:
        return True
    index = layer_index(config, key)
    if index is None:
        return False  # a suffix match outside any numbered layer is dropped when layers are chosen
    return index == wanted if isinstance(wanted, int) else index in wanted


def layer_index(config, key):
    """The layer a module path sits in, by PEFT's rule (tuners_utils.check_target_module_exists): the number
    right after the first segment named by layers_pattern or, without a pattern, after the first segment
    that is not the path's first, followed by a further segment; None when the path has no such number."""
    patterns = config.get("layers_pattern")
    if isinstance(patterns, str):
        patterns = [patterns]
    for pattern in patterns or [r"[^.]*"]:
        found = re.match(rf".*?\.{pattern}\.(\d+)\.", key)  # lazy: the first such number, not the last
        if found:
            return int(found.group(1))
    return None


def pattern_key(keys, key):
    """PEFT's utils.other.get_pattern_key: the first pattern p for which `(.*\\.)?(p)$` matches the path."""
    for p in keys:
        if re.match(rf"(.*\.)?({p})$", key):
            return p
    return key


def rank_alpha_scaling(config, key):
    """Per-module r and alpha (lora.model.LoraModel._create_and_replace via rank_pattern/alpha_pattern), and
    LoraLayer.update_layer's scaling: alpha/sqrt(r) with use_rslora, alpha/r otherwise."""
    rank_pattern = config.get("rank_pattern") or {}
    alpha_pattern = config.get("alpha_pattern") or {}
    r = rank_pattern.get(pattern_key(rank_pattern.keys(), key), config["r"])
    alpha = alpha_pattern.get(pattern_key(alpha_pattern.keys(), key), config["lora_alpha"])
    scaling = alpha / math.sqrt(r) if config.get("use_rslora", False) else alpha / r
    return r, alpha, scaling


# ---------------------------------------------------------------- the adapted layers

class Adapter:
    """One module's adapter: PEFT's tensors for it, checked for PEFT's shapes, and its scaling."""

    def __init__(self, tensors, key, kind, weight, r, scaling, dora):
        self.kind, self.r, self.scaling, self.dora = kind, r, scaling, dora
        if kind == "embedding":
            # lora.layer.Embedding.update_layer: bare parameters lora_embedding_A [r, vocab], lora_embedding_B [dim, r]
            vocab, dim = weight.shape
            self.a = take(tensors, f"{PREFIX}{key}.lora_embedding_A", (r, vocab))
            self.b = take(tensors, f"{PREFIX}{key}.lora_embedding_B", (dim, r))
            magnitude_shape = (dim,)  # DoraEmbeddingLayer: the norm runs over the vocabulary, one per column
        elif kind == "conv2d":
            # lora.layer._ConvNd.update_layer: lora_A a conv with the base's kernel, stride and padding;
            # lora_B a 1x1 conv (groups=1 here)
            out, cin, kh, kw = weight.shape
            self.a = take(tensors, f"{PREFIX}{key}.lora_A.weight", (r, cin, kh, kw))
            self.b = take(tensors, f"{PREFIX}{key}.lora_B.weight", (out, r, 1, 1))
            magnitude_shape = (1, out, 1, 1)  # dora._DoraConvNdLayer.get_weight_norm keeps dims, then transposes 0 and 1
        else:
            # lora.layer.LoraLayer.update_layer: lora_A = Linear(in, r), lora_B = Linear(r, out), no biases
            out, cin = weight.shape
            self.a = take(tensors, f"{PREFIX}{key}.lora_A.weight", (r, cin))
            self.b = take(tensors, f"{PREFIX}{key}.lora_B.weight", (out, r))
            magnitude_shape = (out,)
        # DoRA's magnitude is saved as lora_magnitude_vector, '.weight' stripped (LoraModel._get_adapter_state_dict)
        self.m = take(tensors, f"{PREFIX}{key}.lora_magnitude_vector", magnitude_shape) if dora else None


def take(tensors, name, shape):
    """Removes `name` from the adapter's tensors, insisting on PEFT's shape (load_state_dict would)."""
    if name not in tensors:
        raise SystemExit(f"adapter_model.safetensors lacks {name}")
    tensor = tensors.pop(name)
    if tuple(tensor.shape) != tuple(shape):
        raise SystemExit(f"{name} has shape {list(tensor.shape)}, PEFT expects {list(shape)}")
    return tensor.float()


def linear(x, w, b, ad):
    """lora.layer.Linear.forward; with DoRA, variants.DoraLinearVariant.forward + dora.DoraLinearLayer.forward."""
    result = F.linear(x, w, b)
    if ad is None:
        return result
    lora = F.linear(F.linear(x, ad.a), ad.b)  # lora_B(lora_A(x)); dropout is the identity in eval mode
    if not ad.dora:
        return result + lora * ad.scaling
    # DoraLinearLayer.get_weight_norm: ||W + s·(B @ A)|| per output row
    weight_norm = torch.linalg.norm(w + ad.scaling * (ad.b @ ad.a), dim=1)
    mag_norm_scale = (ad.m / weight_norm).view(1, -1)
    base_result = result if b is None else result - b  # the base output without its bias
    return result + (mag_norm_scale - 1) * base_result + mag_norm_scale * lora * ad.scaling


def embedding(ids, w, ad):
    """lora.layer.Embedding.forward; with DoRA, variants.DoraEmbeddingVariant.forward + dora.DoraEmbeddingLayer."""
    result = F.embedding(ids, w)
    if ad is None:
        return result
    lora = F.embedding(ids, ad.a.T) @ ad.b.T  # _embed(x, lora_embedding_A.T) @ lora_embedding_B.T
    if not ad.dora:
        return result + lora * ad.scaling
    # DoraEmbeddingLayer (fan_in_fan_out=True): ||W.T + s·(A.T @ B.T).T|| per embedding dimension
    weight_norm = torch.linalg.norm(w.T + ad.scaling * (ad.b @ ad.a), dim=1)
    mag_norm_scale = ad.m / weight_norm
    return mag_norm_scale * result + mag_norm_scale * lora * ad.scaling


def conv2d(x, w, b, stride, padding, ad):
    """lora.layer._ConvNd.forward; with DoRA, variants._DoraConvNdVariant.forward + dora._DoraConvNdLayer."""
    result = F.conv2d(x, w, b, stride=stride, padding=padding)
    if ad is None:
        return result
    lora = F.conv2d(F.conv2d(x, ad.a, stride=stride, padding=padding), ad.b)
    if not ad.dora:
        return result + lora * ad.scaling
    # _DoraConvNdLayer.get_lora_weight: B.view(-1, r) @ A.view(r, -1), reshaped to W's shape;
    # get_weight_norm: the norm over every dimension but the first, as [1, out, 1, 1]
    delta = (ad.b.reshape(-1, ad.r) @ ad.a.reshape(ad.r, -1)).reshape(w.shape)
    weight_norm = (w + ad.scaling * delta).norm(p=2, dim=(1, 2, 3), keepdim=True).transpose(1, 0)
    mag_norm_scale = ad.m / weight_norm
    base_result = result if b is None else result - b.view(1, -1, 1, 1)
    return result + (mag_norm_scale - 1) * base_result + mag_norm_scale * lora * ad.scaling


# ---------------------------------------------------------------- the model

def main(case_dir):
    case = Path(case_dir)
    layers = json.loads((case / "model.json").read_text())["layers"]
    base = {name: t.float() for name, t in read_safetensors(case / "base.safetensors").items()}
    config = json.loads((case / "adapter" / "adapter_config.json").read_text())
    tensors = read_safetensors(case / "adapter" / "adapter_model.safetensors")
    x = read_safetensors(case / "inputs.safetensors")["x"]
    refuse_what_is_not_implemented(config)
    dora = bool(config.get("use_dora", False))

    # modules_to_save: the adapter carries the module's own trained parameters under
    # base_model.model.<module>.<name> (ModulesToSaveWrapper.adapter_state_dict_load_map); they replace the base's
    saved_modules = []
    for name in list(tensors):
        rest = name[len(PREFIX):]
        if rest in base and in_list(config.get("modules_to_save") or [], rest.rsplit(".", 1)[0]):
            base[rest] = take(tensors, name, base[rest].shape)
            saved_modules.append(rest.rsplit(".", 1)[0])

    adapters, report = {}, {}
    for layer in layers:
        key = layer.get("module")
        if key is None or not is_target(config, key):
            continue
        if layer["type"] not in ("linear", "embedding", "conv2d"):
            raise SystemExit(f"target {key} is a {layer['type']}, which PEFT's LoRA cannot adapt")
        r, alpha, scaling = rank_alpha_scaling(config, key)
        adapters[key] = Adapter(tensors, key, layer["type"], base[key + ".weight"], r, scaling, dora)
        report[key] = {"type": layer["type"], "r": r, "alpha": alpha, "scaling": scaling, "dora": dora}
    if not adapters:
        raise SystemExit(f"no module matches target_modules {config.get('target_modules')!r}")  # as PEFT refuses
    if tensors:
        raise SystemExit(f"adapter tensors that fit no adapted module: {sorted(tensors)}")

    h = x
    with torch.no_grad():
        for layer in layers:
            kind, key = layer["type"], layer.get("module")
            ad = adapters.get(key)
            if kind == "linear":
                h = linear(h, base[key + ".weight"], base.get(key + ".bias"), ad)
            elif kind == "embedding":
                h = embedding(h.long(), base[key + ".weight"], ad)
            elif kind == "conv2d":
                h = conv2d(h, base[key + ".weight"], base.get(key + ".bias"), tuple(layer["stride"]),
                           tuple(layer["padding"]), ad)
            elif kind == "relu":
                h = torch.relu(h)
            elif kind == "flatten":
                h = torch.flatten(h, 1)
            else:
                raise SystemExit(f"unknown layer type {kind}")

    write_safetensors(case / "logits.safetensors", {"logits": h})
    (case / "report.json").write_text(json.dumps({"adapted": report, "modules_to_save": sorted(set(saved_modules))},
                                                 indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: peft_reference.py CASE_DIR")
    torch.set_num_threads(1)
    main(sys.argv[1])
