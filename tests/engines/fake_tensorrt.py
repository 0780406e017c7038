"""A recording fake of the ``tensorrt`` Python module, one flavour per API generation.

``make_fake_tensorrt("10.3")`` mirrors JetPack 6's TensorRT 10.3 (weakly typed ``BuilderFlag.FP16``
and ``INT8``, ``IBuilderConfig.int8_calibrator``, ``ICudaEngine.device_memory_size``,
``Builder.platform_has_fast_fp16``, ``NetworkDefinitionCreationFlag.EXPLICIT_BATCH``);
``make_fake_tensorrt("11.4")`` mirrors TensorRT 11.4, where those are gone. Every public name the
fake defines is checked against the string table of that version's real ``tensorrt.so``
(tests/engines/test_symbols.py), so code that passes against the fake uses only names that exist.

The fake records every call in ``trt._calls`` as ``(qualified name, args)``; setting an attribute
the real class lacks raises ``AttributeError`` (so a misspelt property fails a test instead of
silently creating a Python attribute). Behaviour is steered through ``trt._state``:

* ``io``: list of ``(name, "INPUT"|"OUTPUT", DataType member name, shape)`` of the "ONNX";
* ``parse_errors``: list of dicts (``desc``, ``node``, ``node_name``, ``node_operator``);
* ``build_returns_none``: make ``build_serialized_network`` fail;
* ``num_dla_cores``; ``compute``: ``fn(inputs: dict) -> dict`` run by ``execute_async_v3``
  (default: every output is filled with the sum of all input elements);
* ``layers``: the inspector's layer list.

Plans are ``b"FAKETRT1" + version + b"\\n" + json``; ``Runtime.deserialize_cuda_engine`` returns
``None`` (and logs an error) for foreign or truncated bytes and for plans of another version.
"""
from __future__ import annotations

import ctypes
import json
import types

import numpy as np

FLAVOURS = {"10.3": "10.3.0.30", "11.4": "11.4.0.106"}
MAGIC = b"FAKETRT1"
NUMPY = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32,
         "INT64": np.int64, "BOOL": np.bool_, "UINT8": np.uint8}
DEFAULT_IO = [("keypoints_2d", "INPUT", "FLOAT", (1, 9, 17, 2)),
              ("poses_3d", "OUTPUT", "FLOAT", (1, 9, 17, 3))]
DEFAULT_LAYERS = [
    {"Name": "{ForeignNode[/blocks.0/attn/MatMul.../blocks.0/attn/proj/MatMul]}",
     "LayerType": "Myelin", "TacticName": "_gemm_mha_v2",
     "Inputs": [{"Name": "x", "Format/Datatype": "Row major linear FP16 format"}],
     "Outputs": [{"Name": "y", "Format/Datatype": "Row major linear FP16 format"}]},
    {"Name": "/mgptp/TopK", "LayerType": "TopK",
     "Inputs": [{"Name": "s", "Format/Datatype": "Row major linear FP32 format"}],
     "Outputs": [{"Name": "i", "Format/Datatype": "Row major linear Int32 format"}]},
]


class _EnumValue:
    """A member of a fake pybind11 enum: hashable, comparable, ``int()``-able, has ``name``."""

    def __init__(self, owner: str, name: str, value: int) -> None:
        self._owner, self._name, self._value = owner, name, value

    name = property(lambda self: self._name)
    value = property(lambda self: self._value)

    def __int__(self) -> int:
        return self._value

    __index__ = __int__

    def __eq__(self, other) -> bool:
        return isinstance(other, _EnumValue) and (self._owner, self._value) == (other._owner, other._value)

    def __hash__(self) -> int:
        return hash((self._owner, self._value))

    def __repr__(self) -> str:
        return f"<{self._owner}.{self._name}: {self._value}>"


def _enum(name: str, members) -> type:
    """A class whose attributes are :class:`_EnumValue` members, like a pybind11 enum."""
    values = {m: _EnumValue(name, m, i) for i, m in enumerate(members)}
    return type(name, (), {**values, "_members": tuple(members)})


def make_fake_tensorrt(flavour: str = "10.3") -> types.ModuleType:
    """A fresh fake ``tensorrt`` module of ``flavour`` ("10.3" or "11.4") with empty records."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {sorted(FLAVOURS)}, got {flavour!r}")
    trt = types.ModuleType("tensorrt")
    trt.__version__ = FLAVOURS[flavour]
    trt._flavour = flavour
    trt._calls = []
    trt._state = types.SimpleNamespace(io=list(DEFAULT_IO), parse_errors=[], build_returns_none=False,
                                       num_dla_cores=0, compute=None, layers=list(DEFAULT_LAYERS),
                                       execute_returns=True)
    weak = flavour == "10.3"
    _add_enums(trt, weak)
    _add_logger(trt)
    _add_builder(trt, weak)
    _add_runtime(trt, weak)
    return trt


def _add_enums(trt, weak: bool) -> None:
    flags = ["FP16", "INT8", "GPU_FALLBACK", "DIRECT_IO"] if weak else ["GPU_FALLBACK", "DIRECT_IO"]
    trt.BuilderFlag = _enum("BuilderFlag", flags)
    trt.NetworkDefinitionCreationFlag = _enum(
        "NetworkDefinitionCreationFlag", ["EXPLICIT_BATCH", "STRONGLY_TYPED"] if weak else ["STRONGLY_TYPED"])
    if not weak:  # TensorRT 11 keeps STRONGLY_TYPED = 1 (deprecated, ignored)
        trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED = _EnumValue(
            "NetworkDefinitionCreationFlag", "STRONGLY_TYPED", 1)
    trt.MemoryPoolType = _enum("MemoryPoolType", ["WORKSPACE"])
    trt.ProfilingVerbosity = _enum("ProfilingVerbosity", ["LAYER_NAMES_ONLY", "NONE", "DETAILED"])
    trt.DeviceType = _enum("DeviceType", ["GPU", "DLA"])
    trt.LayerInformationFormat = _enum("LayerInformationFormat", ["ONELINE", "JSON"])
    trt.TensorIOMode = _enum("TensorIOMode", ["NONE", "INPUT", "OUTPUT"])
    trt.DataType = _enum("DataType", ["FLOAT", "HALF", "INT8", "INT32", "BOOL", "UINT8", "INT64", "BF16"])


def _recorder(trt):
    def record(name: str, *args) -> None:
        trt._calls.append((name, args))
    return record


class _Strict:
    """Setting a public attribute the class does not define raises, and every set is recorded."""

    _trt = None

    def __setattr__(self, name, value) -> None:
        if not name.startswith("_"):
            if not hasattr(type(self), name):
                raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
            self._trt._calls.append((f"{type(self).__name__}.{name}=", (value,)))
        object.__setattr__(self, name, value)


def _add_logger(trt) -> None:
    severity = _enum("Severity", ["INTERNAL_ERROR", "ERROR", "WARNING", "INFO", "VERBOSE"])

    class ILogger:
        Severity = severity

        def __init__(self) -> None:
            pass

        def log(self, severity, msg) -> None:
            raise NotImplementedError

    class Logger(ILogger):
        Severity = severity
        min_severity = severity.WARNING

        def __init__(self, min_severity=severity.WARNING) -> None:
            super().__init__()
            self.min_severity = min_severity

        def log(self, severity, msg) -> None:
            pass

    trt.ILogger, trt.Logger = ILogger, Logger


def _log_error(trt, logger, msg: str) -> None:
    logger.log(trt.ILogger.Severity.ERROR, msg)


def _add_builder(trt, weak: bool) -> None:
    record = _recorder(trt)
    state = trt._state

    class IHostMemory(bytes):
        nbytes = property(lambda self: len(self))

    class ITimingCache:
        def __init__(self, data: bytes) -> None:
            self._data = bytes(data) or b"FAKECACHE"

        def serialize(self):
            record("ITimingCache.serialize")
            return IHostMemory(self._data + b"+")

    class INetworkDefinition(_Strict):
        _trt = trt

        def __init__(self, flags: int) -> None:
            self._flags = flags

    class ParserError:
        def __init__(self, entry: dict) -> None:
            self._e = entry

        def desc(self):
            return self._e.get("desc", "")

        def code(self):
            return self._e.get("code", 0)

        def node(self):
            return self._e.get("node", -1)

        def node_name(self):
            return self._e.get("node_name", "")

        def node_operator(self):
            return self._e.get("node_operator", "")

    class OnnxParser(_Strict):
        _trt = trt

        def __init__(self, network, logger) -> None:
            record("OnnxParser", network, logger)
            self._errors = []

        def parse_from_file(self, path):
            record("OnnxParser.parse_from_file", path)
            with open(path, "rb"):
                pass
            self._errors = [ParserError(e) for e in state.parse_errors]
            return not self._errors

        num_errors = property(lambda self: len(self._errors))

        def get_error(self, index):
            record("OnnxParser.get_error", index)
            return self._errors[index]

    config_attrs = dict(builder_optimization_level=3, profiling_verbosity=trt.ProfilingVerbosity.LAYER_NAMES_ONLY,
                        default_device_type=trt.DeviceType.GPU, DLA_core=-1)
    if weak:
        config_attrs["int8_calibrator"] = None

    def set_memory_pool_limit(self, pool, size):
        record("IBuilderConfig.set_memory_pool_limit", pool, size)
        self._pools[pool] = size

    def set_flag(self, flag):
        record("IBuilderConfig.set_flag", flag)
        self._flags.add(flag)

    def get_flag(self, flag):
        return flag in self._flags

    def create_timing_cache(self, data):
        record("IBuilderConfig.create_timing_cache", bytes(data))
        return ITimingCache(data)

    def set_timing_cache(self, cache, ignore_mismatch):
        record("IBuilderConfig.set_timing_cache", cache, ignore_mismatch)
        self._cache = cache
        return True

    def get_timing_cache(self):
        record("IBuilderConfig.get_timing_cache")
        return self._cache

    def config_init(self):
        self._pools, self._flags, self._cache = {}, set(), None

    IBuilderConfig = type("IBuilderConfig", (_Strict,), {
        **config_attrs, "_trt": trt, "__init__": config_init,
        "set_memory_pool_limit": set_memory_pool_limit, "set_flag": set_flag, "get_flag": get_flag,
        "create_timing_cache": create_timing_cache, "set_timing_cache": set_timing_cache,
        "get_timing_cache": get_timing_cache})

    def builder_init(self, logger):
        record("Builder", logger)
        self._logger = logger

    def create_network(self, flags=0):
        record("Builder.create_network", flags)
        return INetworkDefinition(flags)

    def create_builder_config(self):
        record("Builder.create_builder_config")
        return IBuilderConfig()

    def build_serialized_network(self, network, config):
        record("Builder.build_serialized_network", network, config)
        if state.build_returns_none:
            _log_error(trt, self._logger, "fake: could not find any implementation for node X")
            return None
        payload = {"io": [list(e) for e in state.io], "flags": network._flags,
                   "fp16": trt.BuilderFlag.__dict__.get("FP16") in config._flags,
                   "dla_core": config.DLA_core, "layers": state.layers}
        return IHostMemory(MAGIC + trt.__version__.encode() + b"\n" + json.dumps(payload).encode())

    builder_attrs = {"_trt": trt, "__init__": builder_init, "create_network": create_network,
                     "create_builder_config": create_builder_config,
                     "build_serialized_network": build_serialized_network,
                     "num_DLA_cores": property(lambda self: state.num_dla_cores)}
    if weak:
        builder_attrs["platform_has_fast_fp16"] = property(lambda self: True)
    trt.Builder = type("Builder", (_Strict,), builder_attrs)
    trt.IHostMemory, trt.ITimingCache, trt.INetworkDefinition = IHostMemory, ITimingCache, INetworkDefinition
    trt.ParserError, trt.OnnxParser, trt.IBuilderConfig = ParserError, OnnxParser, IBuilderConfig


def _add_runtime(trt, weak: bool) -> None:
    record = _recorder(trt)
    state = trt._state

    class Dims(tuple):
        pass

    class EngineInspector:
        def __init__(self, layers) -> None:
            self._layers = layers

        def get_engine_information(self, fmt):
            record("EngineInspector.get_engine_information", fmt)
            return json.dumps({"Layers": self._layers, "Bindings": []})

    class IExecutionContext(_Strict):
        _trt = trt

        def __init__(self, engine) -> None:
            self._engine, self._addresses = engine, {}

        def set_tensor_address(self, name, ptr):
            record("IExecutionContext.set_tensor_address", name, ptr)
            self._addresses[name] = int(ptr)
            return name in self._engine._io

        def execute_async_v3(self, stream_handle):
            record("IExecutionContext.execute_async_v3", stream_handle)
            if not state.execute_returns:
                return False
            self._engine._run(self._addresses)
            return True

    def engine_init(self, payload):
        self._io = {e[0]: (e[1], e[2], tuple(e[3])) for e in payload["io"]}
        self._order = [e[0] for e in payload["io"]]
        self._payload = payload

    def get_tensor_name(self, index):
        return self._order[index]

    def get_tensor_mode(self, name):
        return getattr(trt.TensorIOMode, self._io[name][0])

    def get_tensor_dtype(self, name):
        return getattr(trt.DataType, self._io[name][1])

    def get_tensor_shape(self, name):
        return Dims(self._io[name][2])

    def create_execution_context(self):
        record("ICudaEngine.create_execution_context")
        return IExecutionContext(self)

    def create_engine_inspector(self):
        record("ICudaEngine.create_engine_inspector")
        return EngineInspector(self._payload["layers"])

    def run(self, addresses):
        arrays = {n: _read(addresses[n], NUMPY[dt], shape)
                  for n, (mode, dt, shape) in self._io.items() if mode == "INPUT"}
        outputs = state.compute(arrays) if state.compute else None
        total = sum(float(a.sum()) for a in arrays.values())
        for n, (mode, dt, shape) in self._io.items():
            if mode == "OUTPUT":
                value = outputs[n] if outputs is not None else np.full(shape, total)
                _write(addresses[n], np.asarray(value, dtype=NUMPY[dt]).reshape(shape))

    engine_attrs = {"__init__": engine_init, "get_tensor_name": get_tensor_name,
                    "get_tensor_mode": get_tensor_mode, "get_tensor_dtype": get_tensor_dtype,
                    "get_tensor_shape": get_tensor_shape, "_run": run,
                    "create_execution_context": create_execution_context,
                    "create_engine_inspector": create_engine_inspector,
                    "num_io_tensors": property(lambda self: len(self._order)),
                    "device_memory_size_v2": property(lambda self: 1 << 20)}
    if weak:
        engine_attrs["device_memory_size"] = property(lambda self: 1 << 20)
    ICudaEngine = type("ICudaEngine", (), engine_attrs)

    class Runtime(_Strict):
        _trt = trt

        def __init__(self, logger) -> None:
            record("Runtime", logger)
            self._logger = logger

        def deserialize_cuda_engine(self, data):
            record("Runtime.deserialize_cuda_engine", len(bytes(data)))
            data = bytes(data)
            if not data.startswith(MAGIC):
                _log_error(trt, self._logger, "fake: Magic tag does not match")
                return None
            version, _, body = data[len(MAGIC):].partition(b"\n")
            if version.decode(errors="replace") != trt.__version__:
                _log_error(trt, self._logger, f"fake: plan built with {version.decode()} (serialization mismatch)")
                return None
            try:
                return ICudaEngine(json.loads(body))
            except ValueError:
                _log_error(trt, self._logger, "fake: truncated plan")
                return None

    trt.Dims, trt.EngineInspector, trt.IExecutionContext = Dims, EngineInspector, IExecutionContext
    trt.ICudaEngine, trt.Runtime = ICudaEngine, Runtime


def _read(ptr: int, dtype, shape) -> np.ndarray:
    count = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = (ctypes.c_byte * count).from_address(ptr)
    return np.frombuffer(bytes(raw), dtype=dtype).reshape(shape)


def _write(ptr: int, array: np.ndarray) -> None:
    data = np.ascontiguousarray(array).tobytes()
    ctypes.memmove(ptr, data, len(data))


def api_names(trt) -> set[str]:
    """Every public name the fake defines: module attributes, class attributes, enum members,
    plus ``name``/``value`` of enum members. These are the names code tested against the fake
    can use, and each must exist in the real bindings of the same version."""
    names = {"__version__"}
    for attr, obj in vars(trt).items():
        if attr.startswith("_"):
            continue
        names.add(attr)
        if isinstance(obj, type):
            names.update(_class_names(obj))
    return names


def _class_names(cls: type) -> set[str]:
    names = set()
    for klass in cls.__mro__:
        if klass in (object, _Strict, bytes, tuple):
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("_"):
                continue
            names.add(attr)
            if isinstance(value, _EnumValue):
                names.update({"name", "value"})
            elif isinstance(value, type):
                names.update(_class_names(value))
    return names
