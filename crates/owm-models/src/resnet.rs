use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use crate::batch_norm::batch_norm;
use crate::{Error, Result};

fn conv(c_in: usize, c_out: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// The projection of a block's input when its shape changes: 1×1 convolution with stride, batch norm.
#[derive(Module, Debug)]
pub struct Projection {
    /// `[c_out, c_in, 1, 1]`.
    pub conv: Conv2d,
    /// Its batch norm.
    pub bn: BatchNorm,
}

/// A basic residual block: conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the input (projected when the
/// stride or width changes), then ReLU.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// First 3×3 convolution (carries the stride).
    pub conv1: Conv2d,
    /// Its batch norm.
    pub bn1: BatchNorm,
    /// Second 3×3 convolution.
    pub conv2: Conv2d,
    /// Its batch norm.
    pub bn2: BatchNorm,
    /// The shortcut's projection, when the shape changes.
    pub shortcut: Option<Projection>,
}

impl BasicBlock {
    fn new(c_in: usize, c_out: usize, stride: usize, device: &Device) -> Self {
        let shortcut =
            (stride != 1 || c_in != c_out).then(|| Projection { conv: conv(c_in, c_out, 1, stride, device), bn: BatchNormConfig::new(c_out).init(device) });
        Self {
            conv1: conv(c_in, c_out, 3, stride, device),
            bn1: BatchNormConfig::new(c_out).init(device),
            conv2: conv(c_out, c_out, 3, 1, device),
            bn2: BatchNormConfig::new(c_out).init(device),
            shortcut,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = batch_norm(&self.bn1, crate::kernels::conv2d(&self.conv1, x.clone()), None, true);
        let y = crate::kernels::conv2d(&self.conv2, y);
        let identity = match &self.shortcut {
            Some(p) => batch_norm(&p.bn, crate::kernels::conv2d(&p.conv, x), None, false),
            None => x,
        };
        batch_norm(&self.bn2, y, Some(identity), true)
    }
}

/// The CIFAR-10 residual network of He et al. (§4.2): a 3×3 stem, three stages of `n` basic blocks at widths
/// `w`, `2w`, `4w` (the second and third start with stride 2 and a projection shortcut), global average
/// pooling, a linear layer; `depth = 6n + 2` (ResNet-8, -14, -20, ...). Convolutions have no bias; each is
/// followed by batch norm, whose running statistics are buffers (kept in bundles and checkpoints, never
/// trained).
///
/// Parameters: `stem.weight`, `stem_bn.{gamma,beta}`, `blocks.{i}.conv{1,2}.weight`,
/// `blocks.{i}.bn{1,2}.{gamma,beta}`, `blocks.{i}.shortcut.{conv.weight,bn.gamma,bn.beta}`, `fc.{weight,bias}`;
/// buffers `*.running_mean`, `*.running_var`.
///
/// ## References
///
/// He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385.
#[derive(Module, Debug)]
pub struct ResNet {
    /// 3×3 convolution `C → w`.
    pub stem: Conv2d,
    /// Its batch norm.
    pub stem_bn: BatchNorm,
    /// The residual blocks, in order.
    pub blocks: Vec<BasicBlock>,
    /// `4w → outputs`.
    pub fc: Linear,
}

impl ResNet {
    /// A ResNet of `depth` layers and base width `width` for images of `channels` channels.
    ///
    /// # Errors
    ///
    /// [`Error::Depth`] unless `depth = 6n + 2` with `n ≥ 1`; [`Error::ZeroWidth`] for a zero width.
    pub fn new(channels: usize, depth: usize, width: usize, outputs: usize, device: &Device) -> Result<Self> {
        if depth < 8 || !(depth - 2).is_multiple_of(6) {
            return Err(Error::Depth(depth));
        }
        if width == 0 {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        let n = (depth - 2) / 6;
        let mut blocks = Vec::with_capacity(3 * n);
        let mut c_in = width;
        for stage in 0..3 {
            let c_out = width << stage;
            for b in 0..n {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(c_in, c_out, stride, device));
                c_in = c_out;
            }
        }
        Ok(Self {
            stem: conv(channels, width, 3, 1, device),
            stem_bn: BatchNormConfig::new(width).init(device),
            blocks,
            fc: LinearConfig::new(4 * width, outputs).init(device),
        })
    }

    /// Logits for a batch of images.
    ///
    /// # Shapes
    ///
    /// `[batch, channels, height, width]` → `[batch, outputs]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = batch_norm(&self.stem_bn, crate::kernels::conv2d(&self.stem, images), None, true);
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [n, c, _, _] = x.dims();
        self.fc.forward(x.mean_dim(3).mean_dim(2).reshape([n, c]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_build_resnet_8_with_buffers_apart() {
        let device = Device::flex();
        let m = ResNet::new(3, 8, 4, 10, &device).unwrap();
        assert_eq!(m.blocks.len(), 3);
        assert_eq!(m.forward(Tensor::zeros([2, 3, 8, 8], &device)).dims(), [2, 10]);
        let params: Vec<String> = owm_core::param_infos(&m).into_iter().map(|p| p.path).collect();
        assert!(params.contains(&"blocks.1.shortcut.conv.weight".to_string()), "{params:?}");
        assert!(!params.iter().any(|p| owm_core::is_buffer(p)), "buffers are not parameters");
        let state: Vec<String> = owm_core::state_data(&m).into_iter().map(|(p, _)| p).collect();
        assert!(state.contains(&"stem_bn.running_var".to_string()), "{state:?}");
        assert!(matches!(ResNet::new(3, 10, 4, 10, &device), Err(Error::Depth(10))));
    }
}
