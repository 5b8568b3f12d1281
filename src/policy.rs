//! Launch policy: from a problem (vector layout, dtype) and the device's reported limits to a
//! plan (which kernel, vector width, cube shape, register cache, grid).
//!
//! The plan depends on the vector length, dtype and device only, never on the number of
//! vectors, so a vector's result does not change with how many others share the launch.

use crate::element::DType;
use crate::layout::VectorLayout;
use crate::OrthoError;
use cubecl::ir::features::Plane;
use cubecl::prelude::*;

/// Launch constants for one class of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// Units per cube (a power of two, at most the device's limit).
    pub cube_units: u32,
    /// Slices per unit the cached row path aims for when a row has fewer units than a cube.
    pub target_cached: usize,
    /// Most slices one unit keeps in registers; longer rows stream twice.
    pub max_cached: usize,
    /// Whether the cache loops are unrolled (registers) or indexed at run time (local memory).
    pub unroll: bool,
}

/// Vectors longer than this many elements are split over several cubes. Past it a single cube
/// streams the vector twice and leaves the device idle when vectors are few.
pub(crate) const SPLIT_THRESHOLD: usize = 65_536;

/// Elements per cube in the split path.
const SPLIT_CHUNK: usize = 16_384;

/// GPUs (devices with plane operations). 256 units keeps eight warps per cube, the common
/// sweet spot for row reductions on NVIDIA and AMD parts. A unit caches at most 8 slices: 8
/// slices of 4 f32 for each of three inputs is 96 registers in the backward kernel, under the
/// 128 where NVIDIA occupancy halves. Not yet tuned on a GPU by measurement.
const GPU: Tuning = Tuning {
    cube_units: 256,
    target_cached: 4,
    max_cached: 8,
    unroll: true,
};

/// SIMD CPUs exposed as compute devices (llvmpipe: no plane operations, plane size 8 = its
/// AVX2 width). llvmpipe runs a cube as batches of 8 lanes and saves every batch's live state
/// at a barrier, so a cube of more than one batch with a register cache is slow: on the
/// 2-core development machine, 8192 x 768 f32 forward took 2.8x a same-bytes copy with
/// 256-unit cubes and 1.3x with one 8-unit cube per row. Registers are stack memory there,
/// so the cache goes deep (1.4x vs 2.1x streamed at D = 4096) and is not unrolled: unrolled,
/// 256 slices took five minutes to compile, and CubeCL's expansion of 128 unrolled slices
/// made the test suite three times slower.
const SIMD_CPU: Tuning = Tuning {
    cube_units: 8,
    target_cached: 4,
    max_cached: 128,
    unroll: false,
};

/// What the policy needs to know about a device.
#[derive(Debug, Clone)]
pub(crate) struct DeviceLimits {
    pub tuning: Tuning,
    /// `tuning.cube_units` clamped to what the device and its shared memory allow.
    pub cube_units: u32,
    pub max_cube_units: u32,
    pub plane_size: Option<u32>,
    pub max_cube_count: (u32, u32, u32),
    pub vector_sizes: Vec<usize>,
}

impl DeviceLimits {
    pub fn of<R: Runtime>(client: &ComputeClient<R>, dtype: DType) -> Result<Self, OrthoError> {
        let props = client.properties();
        let hw = &props.hardware;
        let max_units = hw.max_units_per_cube.min(hw.max_cube_dim.0);
        let has_planes = props.features.plane.contains(Plane::Ops);
        // Plane reductions need a fixed plane size to lay out the cube.
        let plane_size = (has_planes
            && hw.plane_size_min == hw.plane_size_max
            && hw.plane_size_max.is_power_of_two()
            && hw.plane_size_max > 1)
            .then_some(hw.plane_size_max);
        // A device without plane operations that reports a SIMD-sized plane is a CPU.
        let tuning = if !has_planes && (2..=16).contains(&hw.plane_size_max) {
            Tuning {
                cube_units: hw.plane_size_max,
                ..SIMD_CPU
            }
        } else {
            GPU
        };
        // Each unit needs 3 f32 of shared memory for the reduction.
        let by_shared = (hw.max_shared_memory_size / 12) as u32;
        let cap = tuning.cube_units.min(max_units).min(by_shared);
        if cap == 0 {
            return Err(OrthoError::TooLarge {
                what: "units per cube needed by the reduction",
                requested: 1,
                limit: 0,
            });
        }
        Ok(Self {
            tuning,
            cube_units: pow2_at_most(cap),
            max_cube_units: max_units,
            plane_size,
            max_cube_count: hw.max_cube_count,
            vector_sizes: client.io_optimized_vector_sizes(dtype.size()).collect(),
        })
    }

    /// Largest optimized vector width that divides `n`.
    pub fn vector_for(&self, n: usize) -> usize {
        self.vector_sizes
            .iter()
            .copied()
            .filter(|&v| v > 0 && n.is_multiple_of(v))
            .max()
            .unwrap_or(1)
    }

    /// The vector width for the per-vector kernels of `layout`: one that keeps each vector-line
    /// inside one contiguous vector (`inner == 1`), or across adjacent strided vectors
    /// (`inner > 1`).
    pub fn vector_for_layout(&self, layout: &VectorLayout) -> usize {
        self.vector_for(if layout.inner == 1 {
            layout.len
        } else {
            layout.inner
        })
    }

    /// Whether a row of `width` units can reduce through planes on this device.
    pub fn plane_for(&self, width: u32) -> bool {
        self.plane_size
            .is_some_and(|p| width >= p && width.is_multiple_of(p))
    }
}

/// A kernel choice with its launch settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// `rows.rs`: `width` units per vector, `rows_per_cube` vectors per cube.
    Rows {
        vector: usize,
        row_len: usize,
        width: u32,
        rows_per_cube: u32,
        cached: usize,
        plane: bool,
    },
    /// `columns.rs`: one unit per `vector` adjacent strided vectors.
    Columns {
        vector: usize,
        inner_len: usize,
        cube_units: u32,
    },
    /// `split.rs`: `chunks` cubes of `width` units per vector.
    Split {
        vector: usize,
        row_len: usize,
        chunks: usize,
        chunk_len: usize,
        width: u32,
        plane: bool,
    },
}

impl Plan {
    pub fn new(layout: &VectorLayout, limits: &DeviceLimits) -> Self {
        let vector = limits.vector_for_layout(layout);
        if layout.inner > 1 {
            return Plan::Columns {
                vector,
                inner_len: layout.inner / vector,
                cube_units: limits.cube_units,
            };
        }
        let row_len = layout.len / vector;
        let units = limits.cube_units as usize;
        if layout.len > SPLIT_THRESHOLD {
            let chunk_len = (SPLIT_CHUNK / vector).max(units);
            return Plan::Split {
                vector,
                row_len,
                chunks: row_len.div_ceil(chunk_len),
                chunk_len,
                width: limits.cube_units,
                plane: limits.plane_for(limits.cube_units),
            };
        }
        let tuning = limits.tuning;
        if row_len <= units * tuning.max_cached {
            // Enough units that each holds about `target_cached` slices, as a power of two.
            let width = row_len
                .div_ceil(tuning.target_cached)
                .next_power_of_two()
                .min(units) as u32;
            return Plan::Rows {
                vector,
                row_len,
                width,
                rows_per_cube: limits.cube_units / width,
                cached: row_len.div_ceil(width as usize),
                plane: limits.plane_for(width),
            };
        }
        Plan::Rows {
            vector,
            row_len,
            width: limits.cube_units,
            rows_per_cube: 1,
            cached: 0,
            plane: limits.plane_for(limits.cube_units),
        }
    }
}

/// The largest power of two not above `n` (`n >= 1`): cube sizes for tree reductions.
pub(crate) fn pow2_at_most(n: u32) -> u32 {
    1 << (31 - n.leading_zeros())
}

/// A grid of `cubes` cubes, spilling into a second dimension past the device's per-dimension
/// limit. Kernels linearize `CUBE_POS` and skip the cubes past `cubes`.
pub(crate) fn grid(cubes: usize, max: (u32, u32, u32)) -> Result<CubeCount, OrthoError> {
    let cubes = cubes.max(1);
    let x = (max.0 as usize).min(cubes);
    let y = cubes.div_ceil(x);
    if y > max.1 as usize {
        return Err(OrthoError::TooLarge {
            what: "cubes in one launch",
            requested: cubes as u64,
            limit: max.0 as u64 * max.1 as u64,
        });
    }
    Ok(CubeCount::Static(x as u32, y as u32, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(plane: Option<u32>) -> DeviceLimits {
        DeviceLimits {
            tuning: GPU,
            cube_units: 256,
            max_cube_units: 1024,
            plane_size: plane,
            max_cube_count: (65_535, 65_535, 65_535),
            vector_sizes: vec![4, 2, 1],
        }
    }

    fn layout(len: usize, inner: usize) -> VectorLayout {
        VectorLayout {
            outer: 3,
            len,
            inner,
        }
    }

    #[test]
    fn token_vectors_use_the_register_cache_up_to_its_limit() {
        let plan = Plan::new(&layout(768, 1), &limits(Some(32)));
        assert_eq!(
            plan,
            Plan::Rows {
                vector: 4,
                row_len: 192,
                width: 64,
                rows_per_cube: 4,
                cached: 3,
                plane: true
            }
        );
        let Plan::Rows { cached, .. } = Plan::new(&layout(8192, 1), &limits(None)) else {
            panic!("8192 is below the split threshold");
        };
        assert_eq!(cached, GPU.max_cached);
        let Plan::Rows { cached, .. } = Plan::new(&layout(8196, 1), &limits(None)) else {
            panic!("8196 is below the split threshold");
        };
        assert_eq!(cached, 0, "past 256 units x 8 slices the row is streamed");
    }

    #[test]
    fn cpu_devices_use_one_batch_per_cube_and_a_deep_cache() {
        let cpu = DeviceLimits {
            tuning: SIMD_CPU,
            cube_units: 8,
            ..limits(None)
        };
        let plan = Plan::new(&layout(768, 1), &cpu);
        assert_eq!(
            plan,
            Plan::Rows {
                vector: 4,
                row_len: 192,
                width: 8,
                rows_per_cube: 1,
                cached: 24,
                plane: false
            }
        );
        let Plan::Rows { cached, .. } = Plan::new(&layout(4096, 1), &cpu) else {
            panic!("4096 is below the split threshold");
        };
        assert_eq!(cached, SIMD_CPU.max_cached);
        let Plan::Rows { cached, width, .. } = Plan::new(&layout(8192, 1), &cpu) else {
            panic!("8192 is below the split threshold");
        };
        assert_eq!(
            (cached, width),
            (0, 8),
            "past 8 units x 128 slices the row is streamed"
        );
    }

    #[test]
    fn odd_lengths_fall_back_to_scalar_loads_and_narrow_rows() {
        let plan = Plan::new(&layout(3, 1), &limits(Some(32)));
        assert_eq!(
            plan,
            Plan::Rows {
                vector: 1,
                row_len: 3,
                width: 1,
                rows_per_cube: 256,
                cached: 3,
                plane: false
            }
        );
    }

    #[test]
    fn long_vectors_split_and_strided_vectors_use_columns() {
        let plan = Plan::new(&layout(65_537, 1), &limits(None));
        assert!(
            matches!(
                plan,
                Plan::Split {
                    vector: 1,
                    chunks: 5,
                    ..
                }
            ),
            "{plan:?}"
        );
        let plan = Plan::new(&layout(64, 49), &limits(None));
        assert_eq!(
            plan,
            Plan::Columns {
                vector: 1,
                inner_len: 49,
                cube_units: 256
            }
        );
    }

    #[test]
    fn grids_spill_into_the_second_dimension() {
        let max = (65_535, 65_535, 65_535);
        let dims = |count: CubeCount| match count {
            CubeCount::Static(x, y, z) => (x, y, z),
            CubeCount::Dynamic(_) => panic!("the policy only makes static grids"),
        };
        assert_eq!(dims(grid(10, max).unwrap()), (10, 1, 1));
        assert_eq!(dims(grid(65_536, max).unwrap()), (65_535, 2, 1));
        assert!(matches!(
            grid(usize::MAX / 2, max),
            Err(OrthoError::TooLarge { .. })
        ));
    }
}
