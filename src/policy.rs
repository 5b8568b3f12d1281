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

/// Units per cube we aim for. 256 keeps 8 cubes' worth of warps resident per SM on NVIDIA
/// parts and is the common sweet spot for row reductions; devices that allow fewer units get
/// their own maximum (rounded down to a power of two).
const TARGET_CUBE_UNITS: u32 = 256;

/// Most vector-width slices one unit keeps in registers. 8 slices of 4 f32 for each of three
/// inputs is 96 registers in the backward kernel, below the 128 where NVIDIA occupancy halves.
const MAX_CACHED: usize = 8;

/// Slices per unit the cached path aims for when it has a choice: enough independent loads in
/// flight per unit without leaving units idle on short rows.
const TARGET_CACHED: usize = 4;

/// Vectors longer than this many elements are split over several cubes. Past it a single cube
/// streams the vector twice and leaves the device idle when vectors are few.
pub(crate) const SPLIT_THRESHOLD: usize = 65_536;

/// Elements per cube in the split path.
const SPLIT_CHUNK: usize = 16_384;

/// What the policy needs to know about a device.
#[derive(Debug, Clone)]
pub(crate) struct DeviceLimits {
    pub cube_units: u32,
    pub plane_size: Option<u32>,
    pub max_cube_count: (u32, u32, u32),
    pub vector_sizes: Vec<usize>,
}

impl DeviceLimits {
    pub fn of<R: Runtime>(client: &ComputeClient<R>, dtype: DType) -> Result<Self, OrthoError> {
        let props = client.properties();
        let hw = &props.hardware;
        let max_units = hw.max_units_per_cube.min(hw.max_cube_dim.0);
        // Each unit needs 3 f32 of shared memory for the tree reduction.
        let by_shared = (hw.max_shared_memory_size / 12) as u32;
        let cap = TARGET_CUBE_UNITS.min(max_units).min(by_shared);
        if cap == 0 {
            return Err(OrthoError::TooLarge {
                what: "units per cube needed by the reduction",
                requested: 1,
                limit: 0,
            });
        }
        let cube_units = 1 << (31 - cap.leading_zeros());
        // Plane reductions need a fixed plane size to lay out the cube.
        let plane_size = (props.features.plane.contains(Plane::Ops)
            && hw.plane_size_min == hw.plane_size_max
            && hw.plane_size_max.is_power_of_two()
            && hw.plane_size_max > 1)
            .then_some(hw.plane_size_max);
        let vector_sizes = client.io_optimized_vector_sizes(dtype.size()).collect();
        Ok(Self {
            cube_units,
            plane_size,
            max_cube_count: hw.max_cube_count,
            vector_sizes,
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

    fn plane_for(&self, width: u32) -> bool {
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
        if layout.inner > 1 {
            let vector = limits.vector_for(layout.inner);
            return Plan::Columns {
                vector,
                inner_len: layout.inner / vector,
                cube_units: limits.cube_units,
            };
        }
        let vector = limits.vector_for(layout.len);
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
        if row_len <= units * MAX_CACHED {
            // Enough units that each holds about TARGET_CACHED slices, as a power of two.
            let width = row_len
                .div_ceil(TARGET_CACHED)
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
            cube_units: 256,
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
        assert_eq!(cached, MAX_CACHED);
        let Plan::Rows { cached, .. } = Plan::new(&layout(8196, 1), &limits(None)) else {
            panic!("8196 is below the split threshold");
        };
        assert_eq!(cached, 0, "past 256 units x 8 slices the row is streamed");
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
