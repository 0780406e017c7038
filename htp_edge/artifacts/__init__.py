"""The contract between the stages: what an artifact is called, what it says about itself,
where its companions live, and how it is hashed and written.

Every stage (export, quantize, build, the runtime) reads and writes artifacts through this
package only, so no stage knows another's file names or metadata keys. numpy-only: the
runtime half imports it on a device without torch or onnx.
"""
