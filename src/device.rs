//! Where the models run: the CPU, or an NVIDIA GPU through candle's CUDA backend when svodka
//! is built with `--features cuda` (`run.device`, `--device`).
//!
//! The choice is a string in the configuration, checked when the configuration is read
//! ([`DeviceChoice::parse`], no GPU touched), and turned into a candle [`Device`] once per
//! process ([`resolve`]): every model of a run shares that one device, as tensors of two CUDA
//! devices (two contexts) cannot meet in one product. `auto` is the GPU when the binary has the
//! feature and a GPU answers, else the CPU, so the same configuration runs everywhere; `cuda`
//! asks for the GPU and fails with the reason when it cannot have one (a build without the
//! feature says how to get it, a machine without a GPU says what the driver answered).
//!
//! What differs on a GPU is decided from the device, not configured twice: seq2seq weights
//! default to bfloat16 there ([`crate::models::precision_for`]), int8 (svodka's own CPU
//! kernels) is refused with the alternatives, and the CPU-only kernels (`models::matmul`,
//! `models::attend`, the GGUF row padding) step aside for candle's CUDA ops.

use std::fmt;

use candle_core::Device;

/// A device as the configuration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The CPU: `cpu`.
    Cpu,
    /// The GPU of this ordinal: `cuda` (0) or `cuda:N`.
    Cuda(usize),
    /// GPU 0 when this build has CUDA and a GPU answers, else the CPU: `auto`.
    Auto,
}

/// Why a device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device {0:?} is not one of cpu, cuda, cuda:N, auto")]
    Invalid(String),
    #[error(
        "device {asked}: this svodka was built without CUDA. Build it with `cargo build --release --features cuda` \
         (a CUDA 13.0 toolkit is needed: deploy/cuda/toolkit.sh makes one from PyPI wheels), or use --device cpu"
    )]
    NotBuilt { asked: String },
    #[error("device {asked}: no usable CUDA GPU; use --device cpu or auto (what the driver answered follows)")]
    Unavailable {
        asked: String,
        #[source]
        source: candle_core::Error,
    },
}

impl DeviceChoice {
    /// Parse `cpu`, `cuda`, `cuda:N`, `gpu` (= `cuda`) or `auto`.
    pub fn parse(s: &str) -> Result<DeviceChoice, DeviceError> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "auto" => Ok(DeviceChoice::Auto),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => match t.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(DeviceChoice::Cuda(n)),
                _ => Err(DeviceError::Invalid(s.to_string())),
            },
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceChoice::Auto => f.write_str("auto"),
        }
    }
}

/// Whether this binary was built with the `cuda` feature.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// The device `s` (a `run.device` value) names, opened once per process and ordinal.
pub fn resolve(s: &str) -> Result<Device, DeviceError> {
    match DeviceChoice::parse(s)? {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda(n) => cuda(n),
        DeviceChoice::Auto => match cuda(0) {
            Ok(d) => Ok(d),
            Err(e) => {
                if CUDA_BUILT {
                    tracing::info!("device auto: {e}; running on the CPU");
                }
                Ok(Device::Cpu)
            }
        },
    }
}

/// Open the device `s` names now, unless it is `auto`: a run asked for a GPU it cannot have
/// stops before any work, even one whose models (lead-3) would never touch it.
pub fn check(s: &str) -> Result<(), DeviceError> {
    match DeviceChoice::parse(s)? {
        DeviceChoice::Auto => Ok(()),
        _ => resolve(s).map(drop),
    }
}

/// How records, manifests and benchmarks name `device`: `cpu` or `cuda:N`.
pub fn name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// Whether `device` computes in bfloat16 natively: a CUDA GPU of compute capability 8.0 or
/// newer (Ampere on; candle's bf16 kernels need it). The CPU's candle ops take bf16 too, but
/// `auto` keeps float32 there.
pub fn has_bf16(device: &Device) -> bool {
    #[cfg(feature = "cuda")]
    if let Ok(d) = device.as_cuda_device() {
        return d
            .cuda_stream()
            .context()
            .compute_capability()
            .is_ok_and(|(major, _)| major >= 8);
    }
    let _ = device;
    false
}

/// Memory in use on `device`'s GPU in MiB (the driver's total less free: every process's),
/// for benchmarks; `None` on the CPU.
pub fn gpu_used_mb(device: &Device) -> Option<f64> {
    #[cfg(feature = "cuda")]
    if let Ok(d) = device.as_cuda_device() {
        return d
            .cuda_stream()
            .context()
            .mem_get_info()
            .ok()
            .map(|(free, total)| (total - free) as f64 / (1024.0 * 1024.0));
    }
    let _ = device;
    None
}

/// GPU `ordinal`, opened once per process.
#[cfg(feature = "cuda")]
fn cuda(ordinal: usize) -> Result<Device, DeviceError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static OPEN: OnceLock<Mutex<HashMap<usize, Device>>> = OnceLock::new();
    let mut open = OPEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(d) = open.get(&ordinal) {
        return Ok(d.clone());
    }
    let d = Device::new_cuda(ordinal).map_err(|source| DeviceError::Unavailable {
        asked: DeviceChoice::Cuda(ordinal).to_string(),
        source,
    })?;
    open.insert(ordinal, d.clone());
    Ok(d)
}

#[cfg(not(feature = "cuda"))]
fn cuda(ordinal: usize) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt {
        asked: DeviceChoice::Cuda(ordinal).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_configuration_may_say() {
        assert_eq!(DeviceChoice::parse("cpu").unwrap(), DeviceChoice::Cpu);
        assert_eq!(DeviceChoice::parse(" CUDA ").unwrap(), DeviceChoice::Cuda(0));
        assert_eq!(DeviceChoice::parse("gpu").unwrap(), DeviceChoice::Cuda(0));
        assert_eq!(DeviceChoice::parse("cuda:3").unwrap(), DeviceChoice::Cuda(3));
        assert_eq!(DeviceChoice::parse("auto").unwrap(), DeviceChoice::Auto);
        for bad in ["", "cuda:", "cuda:-1", "cuda:x", "metal", "tpu"] {
            let e = DeviceChoice::parse(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")) && e.contains("cpu, cuda"), "{bad}: {e}");
        }
        assert_eq!(DeviceChoice::parse("cuda:2").unwrap().to_string(), "cuda:2");
    }

    #[test]
    fn cpu_and_auto_resolve_everywhere() {
        assert!(resolve("cpu").unwrap().is_cpu());
        // auto is the CPU without the feature; with it, whatever the machine has.
        let auto = resolve("auto").unwrap();
        if !CUDA_BUILT {
            assert!(auto.is_cpu());
        }
        assert!(name(&auto) == "cpu" || name(&auto).starts_with("cuda:"));
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_build_it() {
        let e = resolve("cuda:1").unwrap_err().to_string();
        assert!(
            e.contains("cuda:1") && e.contains("--features cuda") && e.contains("toolkit.sh"),
            "{e}"
        );
    }
}
