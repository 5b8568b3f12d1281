//! The benchmark baselines compute the same operator: the unfused chain against the reference,
//! and the copies move the data they claim to.

mod common;

use common::*;
use orthoproj::baseline::{
    copy_backward_bytes, copy_forward_bytes, unfused_orthogonalize, unfused_orthogonalize_backward,
};
use orthoproj::{reference, Axis, Options};

#[test]
fn unfused_chain_matches_reference_for_rows_and_columns() {
    let Some(client) = client() else { return };
    for (shape, axis) in [
        (&[17usize, 768][..], Axis::Last),
        // Rows shorter than a cube: the reduction narrows its cube to the vector.
        (&[40, 5][..], Axis::Last),
        (&[3, 64, 7, 7][..], Axis::Dim(1)),
        // Trailing size a multiple of the vector width: broadcasts read scalars per lane.
        (&[2, 6, 8][..], Axis::Dim(1)),
        (&[4, 3, 5, 4][..], Axis::From(1)),
    ] {
        let n: usize = shape.iter().product();
        let opts = Options { eps: 1e-6, axis };
        let [(x, xr), (f, fr), (g, gr)] = [1, 2, 3].map(|s| random::<f32>(n, s, 1.0));
        let [xt, ft, gt] = [&x, &f, &g].map(|d| upload(&client, d, shape));
        let got = download::<f32>(&unfused_orthogonalize(&xt, &ft, &opts).unwrap());
        let want = reference::orthogonalize(&xr, &fr, shape, &opts).unwrap();
        let terms = forward_terms(&xr, &fr, shape, &opts, false);
        assert_close_to_terms(&format!("unfused fwd {axis:?}"), &got, &want, &terms, 1e-5);
        let (dx, df) = unfused_orthogonalize_backward(&xt, &ft, &gt, &opts).unwrap();
        let (rdx, rdf) = reference::orthogonalize_backward(&xr, &fr, &gr, shape, &opts).unwrap();
        let (tdx, tdf) = backward_terms(&xr, &fr, &gr, shape, &opts, false);
        assert_close_to_terms("unfused dx", &download::<f32>(&dx), &rdx, &tdx, 1e-5);
        assert_close_to_terms("unfused df", &download::<f32>(&df), &rdf, &tdf, 1e-5);
        // The copies read every input and write every output: a + b, and (a + b, b + c).
        let sum = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(p, q)| (*p as f32 + *q as f32) as f64)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            download::<f32>(&copy_forward_bytes(&xt, &ft).unwrap()),
            sum(&xr, &fr)
        );
        let (o1, o2) = copy_backward_bytes(&xt, &ft, &gt).unwrap();
        assert_eq!(
            (download::<f32>(&o1), download::<f32>(&o2)),
            (sum(&xr, &fr), sum(&fr, &gr))
        );
    }
}
