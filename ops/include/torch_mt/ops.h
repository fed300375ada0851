// <torch_mt/ops.h>: one typed C++ function per torch_mt operator,
// torch_mt::ops::<name>(...), with the schema's arguments and defaults.
// Each calls the operator through the dispatcher (checks, kernels and
// autograd as from Python); link libtorch_mt.so, which registers them.
//
// Generated from the operator schemas by tests/test_cpp_api.py, which fails
// when this file is out of date: do not edit by hand.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace torch_mt::ops {
namespace detail {

// The operator's handle, typed; each function looks it up once.
template <typename Signature>
c10::TypedOperatorHandle<Signature> typed(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace detail

// mt::batched_nms(Tensor boxes, Tensor scores, Tensor idxs, float iou_threshold) -> Tensor
inline at::Tensor batched_nms(const at::Tensor& boxes, const at::Tensor& scores,
                              const at::Tensor& idxs, double iou_threshold) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, double)>(
          "mt::batched_nms");
  return op.call(boxes, scores, idxs, iou_threshold);
}

// mt::bleu_scores(Tensor statistics, str smooth_method="exp", float? smooth_value=None, bool
// use_effective_order=True) -> Tensor
inline at::Tensor bleu_scores(const at::Tensor& statistics,
                              const std::string& smooth_method = "exp",
                              std::optional<double> smooth_value = std::nullopt,
                              bool use_effective_order = true) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const std::string&, std::optional<double>, bool)>(
          "mt::bleu_scores");
  return op.call(statistics, smooth_method, smooth_value, use_effective_order);
}

// mt::bleu_statistics(str[] hypotheses, str[][] references, str tokenize="13a", bool
// lowercase=False) -> Tensor
inline at::Tensor bleu_statistics(const std::vector<std::string>& hypotheses,
                                  const std::vector<std::vector<std::string>>& references,
                                  const std::string& tokenize = "13a", bool lowercase = false) {
  static const auto op = detail::typed<at::Tensor(const std::vector<std::string>&,
                                                  const std::vector<std::vector<std::string>>&,
                                                  const std::string&, bool)>("mt::bleu_statistics");
  return op.call(hypotheses, references, tokenize, lowercase);
}

// mt::chosen_num_threads() -> int?
inline std::optional<int64_t> chosen_num_threads() {
  static const auto op = detail::typed<std::optional<int64_t>()>("mt::chosen_num_threads");
  return op.call();
}

// mt::chrf_scores(Tensor statistics, int char_order=6, int word_order=0, int beta=2, bool
// eps_smoothing=False) -> Tensor
inline at::Tensor chrf_scores(const at::Tensor& statistics, int64_t char_order = 6,
                              int64_t word_order = 0, int64_t beta = 2,
                              bool eps_smoothing = false) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, int64_t, int64_t, int64_t, bool)>(
          "mt::chrf_scores");
  return op.call(statistics, char_order, word_order, beta, eps_smoothing);
}

// mt::chrf_statistics(str[] hypotheses, str[][] references, int char_order=6, int word_order=0, int
// beta=2, bool lowercase=False, bool whitespace=False, bool eps_smoothing=False) -> Tensor
inline at::Tensor chrf_statistics(const std::vector<std::string>& hypotheses,
                                  const std::vector<std::vector<std::string>>& references,
                                  int64_t char_order = 6, int64_t word_order = 0, int64_t beta = 2,
                                  bool lowercase = false, bool whitespace = false,
                                  bool eps_smoothing = false) {
  static const auto op = detail::typed<at::Tensor(
      const std::vector<std::string>&, const std::vector<std::vector<std::string>>&, int64_t,
      int64_t, int64_t, bool, bool, bool)>("mt::chrf_statistics");
  return op.call(hypotheses, references, char_order, word_order, beta, lowercase, whitespace,
                 eps_smoothing);
}

// mt::coco_accumulate(Tensor dt_scores, Tensor matched, Tensor ignored, Tensor dt_offsets, Tensor
// regular, int num_categories, Tensor recall_thresholds, int[] max_detections) -> (Tensor
// precision, Tensor recall, Tensor scores)
inline std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_accumulate(
    const at::Tensor& dt_scores, const at::Tensor& matched, const at::Tensor& ignored,
    const at::Tensor& dt_offsets, const at::Tensor& regular, int64_t num_categories,
    const at::Tensor& recall_thresholds, at::IntArrayRef max_detections) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
      int64_t, const at::Tensor&, at::IntArrayRef)>("mt::coco_accumulate");
  return op.call(dt_scores, matched, ignored, dt_offsets, regular, num_categories,
                 recall_thresholds, max_detections);
}

// mt::coco_mask_iou(Tensor dt_counts, Tensor dt_offsets, Tensor gt_counts, Tensor gt_offsets,
// Tensor gt_crowd, Tensor pair_dt, Tensor pair_gt) -> Tensor
inline at::Tensor coco_mask_iou(const at::Tensor& dt_counts, const at::Tensor& dt_offsets,
                                const at::Tensor& gt_counts, const at::Tensor& gt_offsets,
                                const at::Tensor& gt_crowd, const at::Tensor& pair_dt,
                                const at::Tensor& pair_gt) {
  static const auto op = detail::typed<at::Tensor(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
      const at::Tensor&, const at::Tensor&)>("mt::coco_mask_iou");
  return op.call(dt_counts, dt_offsets, gt_counts, gt_offsets, gt_crowd, pair_dt, pair_gt);
}

// mt::coco_match(Tensor dt_boxes, Tensor dt_areas, Tensor dt_offsets, Tensor gt_boxes, Tensor
// gt_areas, Tensor gt_crowd, Tensor gt_ignore, Tensor gt_ids, Tensor gt_offsets, Tensor
// area_ranges, Tensor iou_thresholds, Tensor? ious=None) -> (Tensor matched, Tensor ignored, Tensor
// regular)
inline std::tuple<at::Tensor, at::Tensor, at::Tensor> coco_match(
    const at::Tensor& dt_boxes, const at::Tensor& dt_areas, const at::Tensor& dt_offsets,
    const at::Tensor& gt_boxes, const at::Tensor& gt_areas, const at::Tensor& gt_crowd,
    const at::Tensor& gt_ignore, const at::Tensor& gt_ids, const at::Tensor& gt_offsets,
    const at::Tensor& area_ranges, const at::Tensor& iou_thresholds,
    const std::optional<at::Tensor>& ious = std::nullopt) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
      const at::Tensor&, const std::optional<at::Tensor>&)>("mt::coco_match");
  return op.call(dt_boxes, dt_areas, dt_offsets, gt_boxes, gt_areas, gt_crowd, gt_ignore, gt_ids,
                 gt_offsets, area_ranges, iou_thresholds, ious);
}

// mt::coco_oks_exponents(Tensor dt_keypoints, Tensor gt_keypoints, Tensor gt_boxes, Tensor
// gt_areas, Tensor pair_dt, Tensor pair_gt, Tensor sigmas) -> (Tensor exponents, Tensor counted)
inline std::tuple<at::Tensor, at::Tensor> coco_oks_exponents(
    const at::Tensor& dt_keypoints, const at::Tensor& gt_keypoints, const at::Tensor& gt_boxes,
    const at::Tensor& gt_areas, const at::Tensor& pair_dt, const at::Tensor& pair_gt,
    const at::Tensor& sigmas) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
      const at::Tensor&, const at::Tensor&)>("mt::coco_oks_exponents");
  return op.call(dt_keypoints, gt_keypoints, gt_boxes, gt_areas, pair_dt, pair_gt, sigmas);
}

// mt::coco_rle_area_bbox(Tensor counts, Tensor offsets, Tensor sizes) -> (Tensor areas, Tensor
// boxes)
inline std::tuple<at::Tensor, at::Tensor> coco_rle_area_bbox(const at::Tensor& counts,
                                                             const at::Tensor& offsets,
                                                             const at::Tensor& sizes) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&)>("mt::coco_rle_area_bbox");
  return op.call(counts, offsets, sizes);
}

// mt::coco_rle_decode(Tensor counts, Tensor offsets, int height, int width) -> Tensor
inline at::Tensor coco_rle_decode(const at::Tensor& counts, const at::Tensor& offsets,
                                  int64_t height, int64_t width) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, int64_t)>(
          "mt::coco_rle_decode");
  return op.call(counts, offsets, height, width);
}

// mt::coco_rle_encode(Tensor masks) -> (Tensor counts, Tensor offsets)
inline std::tuple<at::Tensor, at::Tensor> coco_rle_encode(const at::Tensor& masks) {
  static const auto op =
      detail::typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&)>("mt::coco_rle_encode");
  return op.call(masks);
}

// mt::coco_rle_from_polygons(Tensor coordinates, Tensor polygon_offsets, Tensor annotation_offsets,
// Tensor sizes) -> (Tensor counts, Tensor offsets)
inline std::tuple<at::Tensor, at::Tensor> coco_rle_from_polygons(
    const at::Tensor& coordinates, const at::Tensor& polygon_offsets,
    const at::Tensor& annotation_offsets, const at::Tensor& sizes) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&)>(
      "mt::coco_rle_from_polygons");
  return op.call(coordinates, polygon_offsets, annotation_offsets, sizes);
}

// mt::coco_rle_from_strings(Tensor chars, Tensor char_offsets) -> (Tensor counts, Tensor lengths)
inline std::tuple<at::Tensor, at::Tensor> coco_rle_from_strings(const at::Tensor& chars,
                                                                const at::Tensor& char_offsets) {
  static const auto op =
      detail::typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&)>(
          "mt::coco_rle_from_strings");
  return op.call(chars, char_offsets);
}

// mt::ctc_beam_search(Tensor log_probs, Tensor input_lengths, int beam_width, int blank=0, int
// top_k=1) -> (Tensor, Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor, at::Tensor> ctc_beam_search(
    const at::Tensor& log_probs, const at::Tensor& input_lengths, int64_t beam_width,
    int64_t blank = 0, int64_t top_k = 1) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, int64_t, int64_t, int64_t)>("mt::ctc_beam_search");
  return op.call(log_probs, input_lengths, beam_width, blank, top_k);
}

// mt::ctc_forced_align(Tensor log_probs, Tensor targets, Tensor input_lengths, Tensor
// target_lengths, int blank=0) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> ctc_forced_align(const at::Tensor& log_probs,
                                                           const at::Tensor& targets,
                                                           const at::Tensor& input_lengths,
                                                           const at::Tensor& target_lengths,
                                                           int64_t blank = 0) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t)>(
      "mt::ctc_forced_align");
  return op.call(log_probs, targets, input_lengths, target_lengths, blank);
}

// mt::ctc_greedy_decode(Tensor log_probs, Tensor input_lengths, int blank=0) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> ctc_greedy_decode(const at::Tensor& log_probs,
                                                            const at::Tensor& input_lengths,
                                                            int64_t blank = 0) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, int64_t)>("mt::ctc_greedy_decode");
  return op.call(log_probs, input_lengths, blank);
}

// mt::dtw(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None) -> Tensor
inline at::Tensor dtw(const at::Tensor& cost,
                      const std::optional<at::Tensor>& n_lengths = std::nullopt,
                      const std::optional<at::Tensor>& m_lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const std::optional<at::Tensor>&,
                               const std::optional<at::Tensor>&)>("mt::dtw");
  return op.call(cost, n_lengths, m_lengths);
}

// mt::dtw_path(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None) -> Tensor
inline at::Tensor dtw_path(const at::Tensor& cost,
                           const std::optional<at::Tensor>& n_lengths = std::nullopt,
                           const std::optional<at::Tensor>& m_lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const std::optional<at::Tensor>&,
                               const std::optional<at::Tensor>&)>("mt::dtw_path");
  return op.call(cost, n_lengths, m_lengths);
}

// mt::dtw_series(Tensor x, Tensor y, Tensor? x_lengths=None, Tensor? y_lengths=None) -> Tensor
inline at::Tensor dtw_series(const at::Tensor& x, const at::Tensor& y,
                             const std::optional<at::Tensor>& x_lengths = std::nullopt,
                             const std::optional<at::Tensor>& y_lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&,
                               const std::optional<at::Tensor>&, const std::optional<at::Tensor>&)>(
          "mt::dtw_series");
  return op.call(x, y, x_lengths, y_lengths);
}

// mt::edit_distance(Tensor a, Tensor b, Tensor? a_lengths=None, Tensor? b_lengths=None, int?
// max_distance=None) -> Tensor
inline at::Tensor edit_distance(const at::Tensor& a, const at::Tensor& b,
                                const std::optional<at::Tensor>& a_lengths = std::nullopt,
                                const std::optional<at::Tensor>& b_lengths = std::nullopt,
                                std::optional<int64_t> max_distance = std::nullopt) {
  static const auto op = detail::typed<at::Tensor(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, std::optional<int64_t>)>("mt::edit_distance");
  return op.call(a, b, a_lengths, b_lengths, max_distance);
}

// mt::edit_distance_join(Tensor a, Tensor b, int max_distance, Tensor? a_lengths=None, Tensor?
// b_lengths=None, int? diagonal=None) -> (Tensor, Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor, at::Tensor> edit_distance_join(
    const at::Tensor& a, const at::Tensor& b, int64_t max_distance,
    const std::optional<at::Tensor>& a_lengths = std::nullopt,
    const std::optional<at::Tensor>& b_lengths = std::nullopt,
    std::optional<int64_t> diagonal = std::nullopt) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, int64_t, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, std::optional<int64_t>)>("mt::edit_distance_join");
  return op.call(a, b, max_distance, a_lengths, b_lengths, diagonal);
}

// mt::edit_distance_pairwise(Tensor a, Tensor b, Tensor? a_lengths=None, Tensor? b_lengths=None,
// int? max_distance=None) -> Tensor
inline at::Tensor edit_distance_pairwise(const at::Tensor& a, const at::Tensor& b,
                                         const std::optional<at::Tensor>& a_lengths = std::nullopt,
                                         const std::optional<at::Tensor>& b_lengths = std::nullopt,
                                         std::optional<int64_t> max_distance = std::nullopt) {
  static const auto op = detail::typed<at::Tensor(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, std::optional<int64_t>)>("mt::edit_distance_pairwise");
  return op.call(a, b, a_lengths, b_lengths, max_distance);
}

// mt::edit_distance_pairwise_text(str[] a, str[] b, int? max_distance=None) -> Tensor
inline at::Tensor edit_distance_pairwise_text(const std::vector<std::string>& a,
                                              const std::vector<std::string>& b,
                                              std::optional<int64_t> max_distance = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const std::vector<std::string>&, const std::vector<std::string>&,
                               std::optional<int64_t>)>("mt::edit_distance_pairwise_text");
  return op.call(a, b, max_distance);
}

// mt::edit_distance_text(str[] a, str[] b, int? max_distance=None) -> Tensor
inline at::Tensor edit_distance_text(const std::vector<std::string>& a,
                                     const std::vector<std::string>& b,
                                     std::optional<int64_t> max_distance = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const std::vector<std::string>&, const std::vector<std::string>&,
                               std::optional<int64_t>)>("mt::edit_distance_text");
  return op.call(a, b, max_distance);
}

// mt::get_num_threads() -> int
inline int64_t get_num_threads() {
  static const auto op = detail::typed<int64_t()>("mt::get_num_threads");
  return op.call();
}

// mt::linear_sum_assignment(Tensor cost, Tensor? n_lengths=None, Tensor? m_lengths=None, bool
// maximize=False, float? cost_limit=None) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> linear_sum_assignment(
    const at::Tensor& cost, const std::optional<at::Tensor>& n_lengths = std::nullopt,
    const std::optional<at::Tensor>& m_lengths = std::nullopt, bool maximize = false,
    std::optional<double> cost_limit = std::nullopt) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, bool,
      std::optional<double>)>("mt::linear_sum_assignment");
  return op.call(cost, n_lengths, m_lengths, maximize, cost_limit);
}

// mt::nms(Tensor boxes, Tensor scores, float iou_threshold) -> Tensor
inline at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&, double)>("mt::nms");
  return op.call(boxes, scores, iou_threshold);
}

// mt::nms_padded(Tensor boxes, Tensor scores, float iou_threshold, Tensor? lengths=None) -> Tensor
inline at::Tensor nms_padded(const at::Tensor& boxes, const at::Tensor& scores,
                             double iou_threshold,
                             const std::optional<at::Tensor>& lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                               const std::optional<at::Tensor>&)>("mt::nms_padded");
  return op.call(boxes, scores, iou_threshold, lengths);
}

// mt::pairwise_bleu(str[] a, str[] b, str tokenize="13a", str smooth_method="exp", float?
// smooth_value=None, bool lowercase=False, bool use_effective_order=True) -> Tensor
inline at::Tensor pairwise_bleu(const std::vector<std::string>& a,
                                const std::vector<std::string>& b,
                                const std::string& tokenize = "13a",
                                const std::string& smooth_method = "exp",
                                std::optional<double> smooth_value = std::nullopt,
                                bool lowercase = false, bool use_effective_order = true) {
  static const auto op = detail::typed<at::Tensor(
      const std::vector<std::string>&, const std::vector<std::string>&, const std::string&,
      const std::string&, std::optional<double>, bool, bool)>("mt::pairwise_bleu");
  return op.call(a, b, tokenize, smooth_method, smooth_value, lowercase, use_effective_order);
}

// mt::pairwise_chrf(str[] a, str[] b, int char_order=6, int word_order=0, int beta=2, bool
// lowercase=False, bool whitespace=False, bool eps_smoothing=False) -> Tensor
inline at::Tensor pairwise_chrf(const std::vector<std::string>& a,
                                const std::vector<std::string>& b, int64_t char_order = 6,
                                int64_t word_order = 0, int64_t beta = 2, bool lowercase = false,
                                bool whitespace = false, bool eps_smoothing = false) {
  static const auto op =
      detail::typed<at::Tensor(const std::vector<std::string>&, const std::vector<std::string>&,
                               int64_t, int64_t, int64_t, bool, bool, bool)>("mt::pairwise_chrf");
  return op.call(a, b, char_order, word_order, beta, lowercase, whitespace, eps_smoothing);
}

// mt::pairwise_rouge(str[] a, str[] b, str rouge_type="rougeL", bool use_stemmer=False) -> Tensor
inline at::Tensor pairwise_rouge(const std::vector<std::string>& a,
                                 const std::vector<std::string>& b,
                                 const std::string& rouge_type = "rougeL",
                                 bool use_stemmer = false) {
  static const auto op =
      detail::typed<at::Tensor(const std::vector<std::string>&, const std::vector<std::string>&,
                               const std::string&, bool)>("mt::pairwise_rouge");
  return op.call(a, b, rouge_type, use_stemmer);
}

// mt::reset_num_threads() -> ()
inline void reset_num_threads() {
  static const auto op = detail::typed<void()>("mt::reset_num_threads");
  op.call();
}

// mt::rouge_scores(str[] predictions, str[] references, int[]? reference_counts, str[] rouge_types,
// bool use_stemmer=False) -> Tensor
inline at::Tensor rouge_scores(const std::vector<std::string>& predictions,
                               const std::vector<std::string>& references,
                               at::OptionalIntArrayRef reference_counts,
                               const std::vector<std::string>& rouge_types,
                               bool use_stemmer = false) {
  static const auto op =
      detail::typed<at::Tensor(const std::vector<std::string>&, const std::vector<std::string>&,
                               at::OptionalIntArrayRef, const std::vector<std::string>&, bool)>(
          "mt::rouge_scores");
  return op.call(predictions, references, reference_counts, rouge_types, use_stemmer);
}

// mt::set_num_threads(int num_threads) -> ()
inline void set_num_threads(int64_t num_threads) {
  static const auto op = detail::typed<void(int64_t)>("mt::set_num_threads");
  op.call(num_threads);
}

// mt::simd_isa() -> str
inline std::string simd_isa() {
  static const auto op = detail::typed<std::string()>("mt::simd_isa");
  return op.call();
}

// mt::soft_dtw(Tensor cost, float gamma=1., Tensor? n_lengths=None, Tensor? m_lengths=None) ->
// Tensor
inline at::Tensor soft_dtw(const at::Tensor& cost, double gamma = 1.0,
                           const std::optional<at::Tensor>& n_lengths = std::nullopt,
                           const std::optional<at::Tensor>& m_lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, double, const std::optional<at::Tensor>&,
                               const std::optional<at::Tensor>&)>("mt::soft_dtw");
  return op.call(cost, gamma, n_lengths, m_lengths);
}

// mt::soft_dtw_backward(Tensor grad, Tensor cost, float gamma, Tensor? n_lengths=None, Tensor?
// m_lengths=None) -> Tensor
inline at::Tensor soft_dtw_backward(const at::Tensor& grad, const at::Tensor& cost, double gamma,
                                    const std::optional<at::Tensor>& n_lengths = std::nullopt,
                                    const std::optional<at::Tensor>& m_lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                               const std::optional<at::Tensor>&, const std::optional<at::Tensor>&)>(
          "mt::soft_dtw_backward");
  return op.call(grad, cost, gamma, n_lengths, m_lengths);
}

// mt::soft_dtw_backward_backward(Tensor grad_grad, Tensor grad, Tensor cost, float gamma, Tensor?
// n_lengths=None, Tensor? m_lengths=None) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> soft_dtw_backward_backward(
    const at::Tensor& grad_grad, const at::Tensor& grad, const at::Tensor& cost, double gamma,
    const std::optional<at::Tensor>& n_lengths = std::nullopt,
    const std::optional<at::Tensor>& m_lengths = std::nullopt) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
      const std::optional<at::Tensor>&, const std::optional<at::Tensor>&)>(
      "mt::soft_dtw_backward_backward");
  return op.call(grad_grad, grad, cost, gamma, n_lengths, m_lengths);
}

// mt::soft_dtw_series(Tensor x, Tensor y, float gamma=1., Tensor? x_lengths=None, Tensor?
// y_lengths=None) -> Tensor
inline at::Tensor soft_dtw_series(const at::Tensor& x, const at::Tensor& y, double gamma = 1.0,
                                  const std::optional<at::Tensor>& x_lengths = std::nullopt,
                                  const std::optional<at::Tensor>& y_lengths = std::nullopt) {
  static const auto op =
      detail::typed<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                               const std::optional<at::Tensor>&, const std::optional<at::Tensor>&)>(
          "mt::soft_dtw_series");
  return op.call(x, y, gamma, x_lengths, y_lengths);
}

// mt::soft_dtw_series_backward(Tensor grad, Tensor x, Tensor y, float gamma, Tensor?
// x_lengths=None, Tensor? y_lengths=None) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> soft_dtw_series_backward(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& y, double gamma,
    const std::optional<at::Tensor>& x_lengths = std::nullopt,
    const std::optional<at::Tensor>& y_lengths = std::nullopt) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
      const std::optional<at::Tensor>&, const std::optional<at::Tensor>&)>(
      "mt::soft_dtw_series_backward");
  return op.call(grad, x, y, gamma, x_lengths, y_lengths);
}

// mt::ter_statistics(str[] hypotheses, str[][] references, bool normalized=False, bool
// no_punct=False, bool asian_support=False, bool case_sensitive=False) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> ter_statistics(
    const std::vector<std::string>& hypotheses,
    const std::vector<std::vector<std::string>>& references, bool normalized = false,
    bool no_punct = false, bool asian_support = false, bool case_sensitive = false) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const std::vector<std::string>&, const std::vector<std::vector<std::string>>&, bool, bool,
      bool, bool)>("mt::ter_statistics");
  return op.call(hypotheses, references, normalized, no_punct, asian_support, case_sensitive);
}

// mt::viterbi_decode(Tensor emissions, Tensor transitions, Tensor? lengths=None, Tensor?
// start=None, Tensor? end=None) -> (Tensor, Tensor)
inline std::tuple<at::Tensor, at::Tensor> viterbi_decode(
    const at::Tensor& emissions, const at::Tensor& transitions,
    const std::optional<at::Tensor>& lengths = std::nullopt,
    const std::optional<at::Tensor>& start = std::nullopt,
    const std::optional<at::Tensor>& end = std::nullopt) {
  static const auto op = detail::typed<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, const std::optional<at::Tensor>&)>("mt::viterbi_decode");
  return op.call(emissions, transitions, lengths, start, end);
}

}  // namespace torch_mt::ops
