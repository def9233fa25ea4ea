package dev.lora4j.pipeline.internal;

import dev.lora4j.api.TrainingListener.EvaluationReport;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.train.LossHistory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws a run's curves with XChart: the training loss of every step (and its running mean) on the
 * left axis, the validation loss and accuracy at each evaluation on the right.
 */
public final class TrainingCurve {

    private TrainingCurve() {}

    /** Writes the chart of {@code history} as a PNG at {@code file} (created with its directory). */
    public static Path write(LossHistory history, String title, Path file) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        List<StepReport> steps = history.steps();
        List<EvaluationReport> evaluations = history.evaluations();
        XYChart chart = new XYChartBuilder().width(900).height(520).title(title).xAxisTitle("step").build();
        chart.setYAxisGroupTitle(0, "loss");
        chart.setYAxisGroupTitle(1, "validation accuracy");
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        chart.getStyler().setMarkerSize(5);
        if (!steps.isEmpty()) {
            double[] x = new double[steps.size()];
            double[] loss = new double[steps.size()];
            double[] mean = new double[steps.size()];
            double sum = 0;
            int window = Math.max(1, Math.min(20, steps.size() / 10));
            for (int i = 0; i < steps.size(); i++) {
                x[i] = steps.get(i).step();
                loss[i] = steps.get(i).loss();
                sum += loss[i];
                if (i >= window) {
                    sum -= loss[i - window];
                }
                mean[i] = sum / Math.min(i + 1, window);
            }
            XYSeries raw = chart.addSeries("training loss", x, loss);
            raw.setMarker(SeriesMarkers.NONE);
            raw.setLineColor(new java.awt.Color(160, 190, 230));
            XYSeries smooth = chart.addSeries("training loss, mean of " + window, x, mean);
            smooth.setMarker(SeriesMarkers.NONE);
            smooth.setLineColor(new java.awt.Color(30, 80, 160));
        }
        if (!evaluations.isEmpty()) {
            double[] x = new double[evaluations.size()];
            double[] loss = new double[evaluations.size()];
            double[] accuracy = new double[evaluations.size()];
            for (int i = 0; i < evaluations.size(); i++) {
                x[i] = evaluations.get(i).step();
                loss[i] = evaluations.get(i).validationLoss();
                accuracy[i] = evaluations.get(i).value();
            }
            XYSeries valLoss = chart.addSeries("validation loss", x, loss);
            valLoss.setMarker(SeriesMarkers.CIRCLE);
            valLoss.setLineColor(new java.awt.Color(230, 120, 30));
            valLoss.setMarkerColor(new java.awt.Color(230, 120, 30));
            XYSeries valAccuracy = chart.addSeries("validation accuracy (right axis)", x, accuracy);
            valAccuracy.setYAxisGroup(1);
            valAccuracy.setMarker(SeriesMarkers.DIAMOND);
            valAccuracy.setLineColor(new java.awt.Color(40, 150, 60));
            valAccuracy.setMarkerColor(new java.awt.Color(40, 150, 60));
        }
        Path absolute = file.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        BitmapEncoder.saveBitmap(chart, absolute.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
