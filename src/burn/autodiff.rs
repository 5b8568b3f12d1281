//! `Autodiff<B>`: the forward runs `B`'s operator and records one backward step that calls
//! `B`'s backward (the fused kernel on CubeCL backends) instead of differentiating the composed
//! formula op by op.

use super::OrthoBackend;
use crate::{Options, OrthoError};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::FloatTensor;

/// Burn 0.21 keeps the autodiff tensor type private; this is it, with its public fields
/// `primitive` and `node`.
type AutodiffTensor<B, C> = FloatTensor<Autodiff<B, C>>;

/// The recorded backward step of the forward operator (`residual` picks the form).
#[derive(Debug)]
struct OrthoBackward {
    opts: Options,
    residual: bool,
}

impl<B: OrthoBackend> Backward<B, 2> for OrthoBackward {
    /// The checkpointed inputs x and f.
    type State = (NodeId, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_f] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_id, f_id) = ops.state;
        let x = checkpointer.retrieve_node_output(x_id);
        let f = checkpointer.retrieve_node_output(f_id);
        let result = if self.residual {
            B::orthogonal_residual_backward(x, f, grad, &self.opts)
        } else {
            B::orthogonalize_backward(x, f, grad, &self.opts)
        };
        // Burn's backward steps cannot return errors. The inputs were validated by the forward
        // pass, so only a device failure reaches this point (docs/limits.md).
        let (dx, df) = result.unwrap_or_else(|e| panic!("orthoproj backward failed: {e}"));
        if let Some(node) = node_x {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_f {
            grads.register::<B>(node.id, df);
        }
    }
}

fn forward<B: OrthoBackend, C: CheckpointStrategy>(
    x: AutodiffTensor<B, C>,
    f: AutodiffTensor<B, C>,
    opts: &Options,
    residual: bool,
) -> Result<AutodiffTensor<B, C>, OrthoError> {
    let run = |x, f| {
        if residual {
            B::orthogonal_residual(x, f, opts)
        } else {
            B::orthogonalize(x, f, opts)
        }
    };
    let step = OrthoBackward {
        opts: *opts,
        residual,
    };
    // Compute-bound marks the output as kept rather than recomputed under checkpointing; the
    // state holds only the inputs' ids.
    match step
        .prepare::<C>([x.node.clone(), f.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&f));
            let out = run(x.primitive, f.primitive)?;
            Ok(prep.finish(state, out))
        }
        OpsKind::UnTracked(prep) => Ok(prep.finish(run(x.primitive, f.primitive)?)),
    }
}

impl<B: OrthoBackend, C: CheckpointStrategy> OrthoBackend for Autodiff<B, C> {
    fn orthogonalize(
        x: AutodiffTensor<B, C>,
        f: AutodiffTensor<B, C>,
        opts: &Options,
    ) -> Result<AutodiffTensor<B, C>, OrthoError> {
        forward::<B, C>(x, f, opts, false)
    }

    fn orthogonal_residual(
        x: AutodiffTensor<B, C>,
        f: AutodiffTensor<B, C>,
        opts: &Options,
    ) -> Result<AutodiffTensor<B, C>, OrthoError> {
        forward::<B, C>(x, f, opts, true)
    }

    fn vector_stats(
        x: AutodiffTensor<B, C>,
        f: AutodiffTensor<B, C>,
        opts: &Options,
    ) -> Result<AutodiffTensor<B, C>, OrthoError> {
        // Statistics are for logging: computed on the inner backend, not tracked.
        let stats = B::vector_stats(x.primitive, f.primitive, opts)?;
        Ok(<Autodiff<B, C> as AutodiffBackend>::from_inner(stats))
    }
}
