use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::prelude::*;
use owm_models::kernels::{conv2d, relu_max_pool2};
use std::time::Instant;

fn time<F: FnMut()>(name: &str, n: usize, mut f: F) {
    for _ in 0..5 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e3 / n as f64);
    }
    println!("{name:<40} {best:8.3} ms");
}
fn sync2(t: Tensor<2>) {
    let _ = t.slice([0..1, 0..1]).into_data();
}
fn r<const D: usize>(s: [usize; D], d: &Device) -> Tensor<D> {
    Tensor::<D>::random(s, burn::tensor::Distribution::Normal(0.0, 1.0), d)
}

fn main() {
    rayon::join(run, || ());
}
fn run() {
    let dev = Device::flex().autodiff();
    let b = 64;
    let x = r([b, 1, 28, 28], &dev);
    let x2 = r([b, 6, 14, 14], &dev).require_grad();
    let conv1 = Conv2dConfig::new([1, 6], [5, 5]).with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2)).init(&dev);
    let conv2 = Conv2dConfig::new([6, 16], [5, 5]).init(&dev);
    let n = 100;
    time("conv1 fwd+bwd", n, || {
        let _ = conv2d(&conv1, x.clone()).sum().backward();
    });
    time("conv2 fwd+bwd (x grad)", n, || {
        let _ = conv2d(&conv2, x2.clone()).sum().backward();
    });
    time("conv1+pool fwd+bwd", n, || {
        let _ = relu_max_pool2(conv2d(&conv1, x.clone())).sum().backward();
    });
    time("conv2+pool fwd+bwd", n, || {
        let _ = relu_max_pool2(conv2d(&conv2, x2.clone())).sum().backward();
    });
    let f = r([b, 400], &dev).require_grad();
    let l1 = burn::nn::LinearConfig::new(400, 120).init(&dev);
    time("fc1 fwd+bwd", n, || {
        let _ = l1.forward(f.clone()).sum().backward();
    });
    let model = owm_models::ModelConfig::LeNet5 { conv1_padding: 2 }.init(&owm_core::InputSpec::Image { shape: [1, 28, 28] }, 10, &dev).unwrap();
    let labels = Tensor::<1, Int>::from_data(TensorData::new((0..b as i64).map(|i| i % 10).collect::<Vec<_>>(), [b]), &dev);
    let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&dev);
    time("lenet fwd+loss+bwd", n, || {
        let logits = model.forward(owm_core::Input::Image(x.clone()));
        let _ = loss.forward(logits, labels.clone()).backward();
    });
    let p = Device::flex();
    for (bb, m, k, l) in [(64usize, 6usize, 25usize, 784usize), (64, 16, 150, 100)] {
        let (w, c, g) = (r([m, k], &p), r([bb, k, l], &p), r([bb, m, l], &p));
        let s3 = |t: Tensor<3>| {
            let _ = t.slice([0..1, 0..1, 0..1]).into_data();
        };
        time(&format!("b fwd W @ C[{bb},{k},{l}]"), n, || s3(w.clone().unsqueeze::<3>().matmul(c.clone())));
        time(&format!("b dW G @ C^T then sum"), n, || sync2(g.clone().matmul(c.clone().swap_dims(1, 2)).sum_dim(0).squeeze_dim::<2>(0)));
        time(&format!("b dX W^T @ G"), n, || s3(w.clone().transpose().unsqueeze::<3>().matmul(g.clone())));
    }
    for (m, k, nn) in [(6usize, 25usize, 50176usize), (16, 150, 6400)] {
        let (w, c, ct) = (r([m, k], &p), r([k, nn], &p), r([nn, k], &p));
        time(&format!("fwd W[{m},{k}] @ C[{k},{nn}]"), n, || sync2(w.clone().matmul(c.clone())));
        time(&format!("fwd Ct[{nn},{k}] @ Wt"), n, || sync2(ct.clone().matmul(w.clone().transpose())));
        let g = r([m, nn], &p);
        time(&format!("dW G[{m},{nn}] @ Ct"), n, || sync2(g.clone().matmul(ct.clone())));
        time(&format!("dW G @ C^T (view)"), n, || sync2(g.clone().matmul(c.clone().transpose())));
        time(&format!("dX W^T @ G"), n, || sync2(w.clone().transpose().matmul(g.clone())));
    }
}
