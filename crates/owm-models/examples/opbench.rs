use burn::prelude::*;
use std::time::Instant;

fn time<F: FnMut()>(name: &str, n: usize, mut f: F) {
    for _ in 0..3 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{name:<40} {:8.3} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

fn main() {
    for dev in [Device::flex(), Device::flex().autodiff()] {
        for size in [200_704usize, 48_000, 2_560, 10] {
            let a = Tensor::<1>::random([size], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
            let b = Tensor::<1>::random([size], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
            let n = 2000;
            time(&format!("{} add {size}", dev.is_autodiff()), n, || {
                let _ = a.clone() + b.clone();
            });
            time(&format!("{} mul_scalar {size}", dev.is_autodiff()), n, || {
                let _ = a.clone().mul_scalar(0.5);
            });
            time(&format!("{} sqrt {size}", dev.is_autodiff()), n, || {
                let _ = a.clone().abs().sqrt();
            });
            time(&format!("{} sum {size}", dev.is_autodiff()), n, || {
                let _ = a.clone().sum();
            });
            time(&format!("{} into_data {size}", dev.is_autodiff()), n, || {
                let _ = a.clone().into_data();
            });
            let v = vec![0.5f32; size];
            time(&format!("{} from_data {size}", dev.is_autodiff()), n, || {
                let _ = Tensor::<1>::from_data(TensorData::new(v.clone(), [size]), &dev);
            });
        }
    }
}
