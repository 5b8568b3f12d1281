//! Cube-level reduction of the three per-vector dot products.
//!
//! A cube is laid out as `CUBE_DIM_Y` rows of `CUBE_DIM_X` units; each row of units owns one
//! vector and `CUBE_DIM_X` is a power of two. Two paths:
//! - plane: `plane_sum` inside each plane, then one partial per plane through shared memory,
//!   summed in plane order. Needs plane support and `CUBE_DIM_X` a multiple of the plane size.
//! - shared: a power-of-two tree in shared memory, for devices without plane operations (the
//!   llvmpipe software Vulkan device reports none) and for rows narrower than a plane; rows of
//!   at most `FLAT_ROW_UNITS` units use one barrier and a sequential sum instead.
//!
//! Both orders are fixed by the launch configuration alone, so results are reproducible.

use crate::math::Dots;
use cubecl::prelude::*;

/// Rows of at most this many units reduce with a single barrier and a sequential sum instead of
/// a tree: on llvmpipe (8-wide rows) the tree's extra barriers cost more than the reads.
pub const FLAT_ROW_UNITS: usize = 16;

/// Sums `d` over the units of each cube row; every unit of the row receives the total.
///
/// `cube_units` is `CUBE_DIM_X * CUBE_DIM_Y` and `row_units` is `CUBE_DIM_X` (comptime copies:
/// shared memory needs a comptime length, and a row of one unit needs no reduction and no
/// barrier at all). All units of the cube must call this, active or not, because it contains
/// barriers.
#[cube]
pub fn sum_across_row(
    d: Dots,
    #[comptime] cube_units: usize,
    #[comptime] row_units: usize,
    #[comptime] plane: bool,
) -> Dots {
    let mut smem = SharedMemory::<f32>::new(cube_units * 3);
    let unit = UNIT_POS as usize;
    let lane = UNIT_POS_X as usize;
    let width = CUBE_DIM_X as usize;
    let mut out = Dots {
        xf: 0.0,
        xx: 0.0,
        xh: 0.0,
    };

    if comptime![row_units == 1] {
        out.xf = d.xf;
        out.xx = d.xx;
        out.xh = d.xh;
    } else if comptime![plane] {
        let xf = plane_sum(d.xf);
        let xx = plane_sum(d.xx);
        let xh = plane_sum(d.xh);
        let plane_dim = PLANE_DIM as usize;
        if UNIT_POS_PLANE == 0 {
            let slot = unit / plane_dim;
            smem[slot] = xf;
            smem[slot + cube_units] = xx;
            smem[slot + 2 * cube_units] = xh;
        }
        sync_cube();
        let first = (unit - lane) / plane_dim;
        let planes = width / plane_dim;
        for p in 0..planes {
            out.xf += smem[first + p];
            out.xx += smem[first + p + cube_units];
            out.xh += smem[first + p + 2 * cube_units];
        }
    } else if comptime![row_units <= FLAT_ROW_UNITS] {
        // One barrier, then every unit adds the row's partials in unit order.
        smem[unit] = d.xf;
        smem[unit + cube_units] = d.xx;
        smem[unit + 2 * cube_units] = d.xh;
        sync_cube();
        let first = unit - lane;
        #[unroll]
        for k in 0..row_units {
            out.xf += smem[first + k];
            out.xx += smem[first + k + cube_units];
            out.xh += smem[first + k + 2 * cube_units];
        }
    } else {
        smem[unit] = d.xf;
        smem[unit + cube_units] = d.xx;
        smem[unit + 2 * cube_units] = d.xh;
        sync_cube();
        let mut stride = width / 2;
        loop {
            if stride == 0 {
                break;
            }
            if lane < stride {
                smem[unit] += smem[unit + stride];
                smem[unit + cube_units] += smem[unit + stride + cube_units];
                smem[unit + 2 * cube_units] += smem[unit + stride + 2 * cube_units];
            }
            sync_cube();
            stride /= 2;
        }
        let first = unit - lane;
        out.xf = smem[first];
        out.xx = smem[first + cube_units];
        out.xh = smem[first + 2 * cube_units];
    }
    out
}
