//! Host access to tensors of Burn's `flex` backend, for OWM's own CPU kernels (`owm-models`' convolutions,
//! `owm-optim`'s fused optimiser passes), written through Burn's backend-extension API.

use burn::backend::flex::FlexTensor;
use burn::prelude::*;

/// Whether `t` holds f32 values on flex, with or without autodiff.
pub fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == burn::tensor::DType::F32 && t.device().without_autodiff() == Device::flex()
}

/// `t` laid out contiguously (itself when it already is).
pub fn contiguous(t: &FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

/// The f32 values of `t`, which must be contiguous (the output of [`contiguous`]), within its own range of
/// the buffer (a view may start inside a larger one).
#[allow(clippy::expect_used, reason = "every caller passes the output of `contiguous`")]
pub fn read(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous tensor")
}

/// `t` as a contiguous tensor that alone owns its whole buffer, so that [`values_mut`] writes in place: `t`
/// itself when it already is one, else a copy.
pub fn owned(t: FlexTensor) -> FlexTensor {
    let n = t.layout().num_elements();
    if t.is_unique() && t.is_contiguous() && t.layout().start_offset() == 0 && t.bytes().len() == n * size_of::<f32>() {
        t
    } else {
        let shape = t.layout().shape().to_vec();
        tensor(read(&contiguous(&t)).to_vec(), &shape)
    }
}

/// The f32 values of `t`, to write in place (the output of [`owned`]; any other tensor is copied first).
pub fn values_mut(t: &mut FlexTensor) -> &mut [f32] {
    t.storage_mut::<f32>()
}

/// A flex tensor of `shape` holding `values`.
pub fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}
